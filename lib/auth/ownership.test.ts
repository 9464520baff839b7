import { describe, expect, it } from 'vitest';

import { canSeeDataOf, DATA_ADMIN_SCOPES, visibleRecord } from './ownership.js';
import { anonymousPrincipal, gatewayServicePrincipal, type Principal, scopesOfRoles } from './principal.js';

const OWNER = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';
const caller = (kind: Principal['kind'], userId: string | null, scopes: string[] = scopesOfRoles(['user'])): Principal => ({
  ...anonymousPrincipal(null),
  kind,
  userId,
  subject: `${kind}:${userId}`,
  scopes,
});

describe('canSeeDataOf', () => {
  it("lets the owner see their data, signed in or with their API key, and no one else's", () => {
    for (const kind of ['user', 'apiKey'] as const) {
      expect(canSeeDataOf(caller(kind, OWNER), OWNER, DATA_ADMIN_SCOPES.inference)).toBe(true);
      expect(canSeeDataOf(caller(kind, OTHER), OWNER, DATA_ADMIN_SCOPES.inference)).toBe(false);
    }
  });

  it('gives OIDC, anonymous and service callers nothing, even if their principal named the owner', () => {
    for (const principal of [caller('oidc', null), anonymousPrincipal(null), gatewayServicePrincipal, caller('oidc', OWNER), caller('service', OWNER)]) {
      expect(canSeeDataOf(principal, OWNER, DATA_ADMIN_SCOPES.users)).toBe(false);
    }
  });

  it("lets the admin scope of the data's own subgraph through, not another subgraph's", () => {
    expect(canSeeDataOf(caller('oidc', null, ['usage:admin']), OWNER, DATA_ADMIN_SCOPES.usage)).toBe(true);
    expect(canSeeDataOf(caller('user', OTHER, ['usage:admin']), OWNER, DATA_ADMIN_SCOPES.inference)).toBe(false);
    const admin = caller('user', OTHER, scopesOfRoles(['admin']));
    for (const scope of Object.values(DATA_ADMIN_SCOPES)) expect(canSeeDataOf(admin, OWNER, scope)).toBe(true);
  });
});

describe('visibleRecord', () => {
  const job = { id: 'job-1', userId: OWNER };
  const see = (principal: Principal, record: typeof job | null) =>
    visibleRecord(principal, record, (r) => r.userId, DATA_ADMIN_SCOPES.inference, 'Inference job');

  it("answers a missing record and someone else's with the same NOT_FOUND", () => {
    expect(see(caller('user', OWNER), job)).toBe(job);
    for (const attempt of [() => see(caller('user', OTHER), job), () => see(caller('user', OWNER), null)]) {
      expect(attempt).toThrowError(expect.objectContaining({ message: 'Inference job not found', extensions: { code: 'NOT_FOUND' } }));
    }
  });
});
