/**
 * Who is calling, as established once by the gateway and forwarded to every subgraph.
 * - `user`: a LotaBots access token (JWT issued by the users subgraph).
 * - `apiKey`: a partner API key; `userId` is the key's owner, `scopes` the key's own.
 * - `oidc`: a JWT from a configured outside issuer; `userId` is null (the subject lives in `subject`).
 * - `anonymous`: no credentials.
 * - `service`: the gateway itself, calling a subgraph's internal fields (API key lookup).
 */
export type PrincipalKind = 'anonymous' | 'user' | 'apiKey' | 'oidc' | 'service';

export interface Principal {
  kind: PrincipalKind;
  /** The LotaBots user id, or null for anonymous and OIDC callers. */
  userId: string | null;
  /** Stable, unique and safe to log: `user:<id>`, `apiKey:<keyId>`, `oidc:<iss>#<sub>`, `anonymous`. */
  subject: string;
  roles: string[];
  scopes: string[];
  /** Plan tier (free, pro, enterprise); drives budgets and quotas. */
  plan: string;
  /** Refresh-token family of a user's session, so logout can revoke its access tokens. */
  sessionId: string | null;
  apiKeyId: string | null;
  /** The client's address as the gateway saw it (for per-IP limits), or null when unknown. */
  clientIp: string | null;
  /** When the presented token expires (ISO-8601); long-lived operations end then. Null or absent: never. */
  credentialExpiresAt?: string | null;
}

export const anonymousPrincipal = (clientIp: string | null): Principal => ({
  kind: 'anonymous',
  userId: null,
  subject: 'anonymous',
  roles: [],
  scopes: [],
  plan: 'free',
  sessionId: null,
  apiKeyId: null,
  clientIp,
});

export const gatewayServicePrincipal: Principal = {
  kind: 'service',
  userId: null,
  subject: 'service:gateway',
  roles: [],
  scopes: [],
  plan: 'free',
  sessionId: null,
  apiKeyId: null,
  clientIp: null,
};

/** Scopes every signed-in user gets; roles add more (see ROLE_SCOPES). */
export const USER_SCOPES = ['inference:read', 'inference:write', 'usage:read', 'autonomy:read', 'autonomy:write', 'apikeys:manage'] as const;

/** Extra scopes per role. `admin` can read any user's data (the admin scopes of lib/auth/ownership.ts). */
export const ROLE_SCOPES: Record<string, readonly string[]> = {
  user: USER_SCOPES,
  admin: [...USER_SCOPES, 'users:read', 'usage:admin', 'inference:admin', 'autonomy:admin', 'metrics:read', 'schema:read'],
};

export function scopesOfRoles(roles: readonly string[]): string[] {
  return [...new Set(roles.flatMap((role) => ROLE_SCOPES[role] ?? []))].sort();
}
