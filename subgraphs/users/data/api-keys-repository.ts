import type { UsersDb } from './database.js';

/** API keys, stored as prefix + SHA-256 of the whole key. Reads leave the hash out unless named. */
export function createApiKeysRepository(db: UsersDb) {
  return {
    create: (input: { userId: string; name: string; prefix: string; keyHash: string; scopes: string[] }) => db.apiKey.create({ data: input }),
    listOfUser: (userId: string) => db.apiKey.findMany({ where: { userId }, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }] }),
    countActiveOfUser: (userId: string) => db.apiKey.count({ where: { userId, revokedAt: null } }),
    /** With the hash, which names the gateway's cache entry for the key. */
    findOwnedWithHash: (userId: string, id: string) => db.apiKey.findFirst({ where: { id, userId }, omit: { keyHash: false } }),
    /** With the hash and what the owner's identity needs: for authenticating a request. */
    findByPrefixForAuth: (prefix: string) =>
      db.apiKey.findUnique({
        where: { prefix },
        omit: { keyHash: false },
        include: { user: { select: { roles: true, scopes: true, planTier: true } } },
      }),
    async markRevoked(id: string, now: Date) {
      await db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } });
      return db.apiKey.findUniqueOrThrow({ where: { id } });
    },
    /** Keys revoked after `since`, with the hash that names their gateway cache entry. */
    revokedSince: (since: Date) =>
      db.apiKey.findMany({ where: { revokedAt: { gt: since } }, select: { id: true, keyHash: true, revokedAt: true } }) as Promise<
        Array<{ id: string; keyHash: string; revokedAt: Date }>
      >,
    /** Records use at most once per `interval` ms, so a busy key costs one write a minute, not one per lookup. */
    async touch(id: string, now: Date, intervalMs: number): Promise<void> {
      const staleBefore = new Date(now.getTime() - intervalMs);
      await db.apiKey.updateMany({
        where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: staleBefore } }] },
        data: { lastUsedAt: now },
      });
    },
  };
}

export type ApiKeysRepository = ReturnType<typeof createApiKeysRepository>;
export type ApiKeyRecord = Awaited<ReturnType<ApiKeysRepository['create']>>;
