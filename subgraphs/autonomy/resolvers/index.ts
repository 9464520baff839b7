import { DATA_ADMIN_SCOPES, ownedUserReference } from '../../../lib/auth/ownership.js';
import { badUserInput } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import { DateTimeScalar } from '../../../lib/scalars.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import { AUTONOMY_LEVELS, CONTEXT_PATTERN, DEFAULT_LEVEL } from '../domain/levels.js';

export function createAutonomyResolvers(): Resolvers {
  return {
    DateTime: DateTimeScalar,
    Query: {
      autonomyLevels: () => AUTONOMY_LEVELS.map((info, rank) => ({ ...info, rank })),
    },
    User: {
      __resolveReference: ownedUserReference(DATA_ADMIN_SCOPES.autonomy),
      async autonomy(user, { context }, { loaders }) {
        if (context != null && !CONTEXT_PATTERN.test(context)) {
          throw badUserInput('context must be 1-64 characters of a-z, 0-9, ".", "_" or "-"', { argument: 'context' });
        }
        const setting = isUuid(user.id) ? await loaders.effectiveSetting({ userId: user.id, context: context ?? null }) : null;
        if (!setting) return { context: null, level: DEFAULT_LEVEL, updatedAt: null };
        return { context: setting.context || null, level: setting.level, updatedAt: setting.updatedAt };
      },
    },
  };
}
