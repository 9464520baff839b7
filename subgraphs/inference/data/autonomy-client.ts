import { IDENTITY_HEADER, type IdentitySigner } from '../../../lib/auth/identity-header.js';
import type { Principal } from '../../../lib/auth/principal.js';
import { serviceUnavailable } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/logger.js';
import { throttledWarning } from '../../../lib/throttled-warning.js';
import { traceHeaders } from '../../../lib/tracing/propagation.js';

/** The autonomy subgraph's levels (its AutonomyLevel enum). */
export type EffectiveAutonomyLevel = 'NO_AI' | 'ASSISTED' | 'COLLABORATOR' | 'EXPERT' | 'AGENT';
const LEVELS: readonly string[] = ['NO_AI', 'ASSISTED', 'COLLABORATOR', 'EXPERT', 'AGENT'];

/**
 * Who the inference subgraph is when it asks the autonomy subgraph: a service with
 * `autonomy:admin`, the scope that may read any user's level (lib/auth/ownership.ts).
 */
export const INFERENCE_SERVICE_PRINCIPAL: Principal = {
  kind: 'service',
  userId: null,
  subject: 'service:inference',
  roles: [],
  scopes: ['autonomy:admin'],
  plan: 'free',
  sessionId: null,
  apiKeyId: null,
  clientIp: null,
};

const LEVEL_QUERY = /* GraphQL */ `
  query InferenceAutonomyLevel($representations: [_Any!]!, $context: String) {
    _entities(representations: $representations) { ... on User { autonomy(context: $context) { level } } }
  }
`;

interface LevelResponse {
  data?: { _entities?: Array<{ autonomy?: { level?: unknown } | null } | null> } | null;
  errors?: unknown[];
}

/**
 * Learns a user's effective autonomy level for a context through the graph: an `_entities`
 * reference to the user at the autonomy subgraph (which owns the settings), signed as
 * INFERENCE_SERVICE_PRINCIPAL. Fails closed: an autonomy subgraph that is down, slow (past
 * `timeoutMs`) or answers anything but a level is SERVICE_UNAVAILABLE, never a guess.
 */
export function createAutonomyClient(deps: { url: () => string; identity: IdentitySigner; timeoutMs: number; logger: Logger }) {
  // Every submission fails the same way while the autonomy subgraph is down: one line per 10 s.
  const lookupFailed = throttledWarning(deps.logger, 'autonomy level lookup failed');
  return {
    async effectiveLevel(userId: string, context: string | null): Promise<EffectiveAutonomyLevel> {
      let body: LevelResponse;
      try {
        const response = await fetch(deps.url(), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            [IDENTITY_HEADER]: await deps.identity.current(INFERENCE_SERVICE_PRINCIPAL),
            ...traceHeaders(),
          },
          body: JSON.stringify({ query: LEVEL_QUERY, variables: { representations: [{ __typename: 'User', id: userId }], context } }),
          signal: AbortSignal.timeout(deps.timeoutMs),
        });
        if (!response.ok) throw new Error(`autonomy subgraph answered HTTP ${response.status}`);
        body = (await response.json()) as LevelResponse;
      } catch (error) {
        lookupFailed(error);
        throw serviceUnavailable('The autonomy level cannot be checked right now; retry later');
      }
      const level = body.data?._entities?.[0]?.autonomy?.level;
      if (typeof level !== 'string' || !LEVELS.includes(level)) {
        lookupFailed(new Error(`autonomy subgraph answered no level: ${JSON.stringify(body.errors ?? null).slice(0, 500)}`));
        throw serviceUnavailable('The autonomy level cannot be checked right now; retry later');
      }
      return level as EffectiveAutonomyLevel;
    },
  };
}

export type AutonomyClient = ReturnType<typeof createAutonomyClient>;
