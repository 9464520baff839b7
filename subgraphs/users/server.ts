import { createAccessTokenIssuer } from '../../lib/auth/access-token.js';
import type { SigningKeys } from '../../lib/auth/keys.js';
import { createSubgraph, type Subgraph, type SubgraphDeps } from '../../lib/subgraph.js';
import type { UsersConfig } from './config.js';
import { createUsersLoaders, type UsersContext } from './context.js';
import { createUsersPrisma } from './data/database.js';
import { createUsersStore } from './data/store.js';
import { createAccounts } from './domain/accounts.js';
import { createApiKeys } from './domain/api-keys.js';
import { createBruteForceLimits } from './domain/brute-force-limits.js';
import { createPasswordReset } from './domain/password-reset.js';
import { dummyPasswordHash } from './domain/passwords.js';
import { startPlanChangeConsumer } from './domain/plan-changes.js';
import { createRevocationCache } from './domain/revocation-cache.js';
import { createSessions } from './domain/sessions.js';
import { createUsersResolvers } from './resolvers/index.js';

/** What the users subgraph needs beyond the common deps: token keys and its auth settings. */
export type UsersSettings = Pick<
  UsersConfig,
  | 'ACCESS_TOKEN_TTL_SECONDS'
  | 'REFRESH_TOKEN_TTL_SECONDS'
  | 'PASSWORD_RESET_TTL_SECONDS'
  | 'PASSWORD_RESET_URL'
  | 'LOGIN_LIMIT_PER_IP'
  | 'LOGIN_LIMIT_PER_ACCOUNT_AND_IP'
  | 'LOGIN_LIMIT_PER_ACCOUNT'
  | 'REGISTER_LIMIT_PER_IP'
  | 'PASSWORD_RESET_LIMIT_PER_IP'
  | 'PASSWORD_RESET_LIMIT_PER_ACCOUNT'
> & { keys: SigningKeys };

/** The users subgraph: accounts, credentials, sessions and API keys. Builds everything, listens nowhere. */
export function createUsersSubgraph(deps: SubgraphDeps, settings: UsersSettings): Subgraph {
  const { clock, redis } = deps;
  const logger = deps.logger.child({ subgraph: 'users' });
  const prisma = createUsersPrisma(deps.db);
  const store = createUsersStore(prisma);
  const limits = createBruteForceLimits(redis, {
    'login:ip': settings.LOGIN_LIMIT_PER_IP,
    'login:account-ip': settings.LOGIN_LIMIT_PER_ACCOUNT_AND_IP,
    'login:account': settings.LOGIN_LIMIT_PER_ACCOUNT,
    'register:ip': settings.REGISTER_LIMIT_PER_IP,
    'password-reset:ip': settings.PASSWORD_RESET_LIMIT_PER_IP,
    'password-reset:account': settings.PASSWORD_RESET_LIMIT_PER_ACCOUNT,
  });
  const revocations = createRevocationCache({ store, redis, clock, logger, accessTokenTtlSeconds: settings.ACCESS_TOKEN_TTL_SECONDS });
  // Rebuilds the gateway's revocation cache from PostgreSQL whenever Redis has lost it.
  revocations.start();
  const sessions = createSessions({
    store,
    accessTokens: createAccessTokenIssuer(settings.keys, settings.ACCESS_TOKEN_TTL_SECONDS, () => clock.now()),
    revocations,
    clock,
    refreshTokenTtlSeconds: settings.REFRESH_TOKEN_TTL_SECONDS,
    logger,
  });
  const planChanges = startPlanChangeConsumer({ redis, users: store.users, logger });
  // Computed now, so the first sign-in with an unknown email takes no longer than any other.
  void dummyPasswordHash();
  return createSubgraph<UsersContext>({
    name: 'users',
    schemaFile: new URL('./schema.graphql', import.meta.url),
    resolvers: createUsersResolvers({
      users: store.users,
      sessions,
      revocations,
      accounts: createAccounts({ store, sessions, limits }),
      passwordReset: createPasswordReset({
        store,
        sessions,
        limits,
        clock,
        ttlSeconds: settings.PASSWORD_RESET_TTL_SECONDS,
        resetUrl: settings.PASSWORD_RESET_URL,
      }),
      apiKeys: createApiKeys({ store, revocations, clock }),
    }),
    deps,
    context: (principal) => ({ principal, loaders: createUsersLoaders(store.users) }),
    close: async () => {
      await revocations.stop();
      await planChanges.stop();
      await prisma.$disconnect();
    },
  });
}
