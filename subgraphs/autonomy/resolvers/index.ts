import { DATA_ADMIN_SCOPES, ownedUserReference } from '../../../lib/auth/ownership.js';
import { isUuid } from '../../../lib/ids.js';
import { DateTimeScalar } from '../../../lib/scalars.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { ActionsRepository } from '../data/actions-repository.js';
import { DEFAULT_CONTEXT, type SettingsRepository } from '../data/settings-repository.js';
import type { ActionDesk } from '../domain/actions.js';
import { effectiveAutonomy } from '../domain/effective.js';
import { AUTONOMY_LEVELS, checkedContext } from '../domain/levels.js';
import { createActionResolvers } from './actions.js';
import { createSettingsResolvers } from './settings.js';

export function createAutonomyResolvers(deps: {
  settings: SettingsRepository;
  actions: ActionsRepository;
  desk: ActionDesk;
  announceChange: (userId: string) => Promise<void>;
}): Resolvers {
  const { settings } = deps;
  const settingsResolvers = createSettingsResolvers(settings, deps.announceChange);
  const actionResolvers = createActionResolvers(deps);
  const contextOrNull = (context: string) => (context === DEFAULT_CONTEXT ? null : context);
  return {
    DateTime: DateTimeScalar,
    Query: {
      autonomyLevels: () => AUTONOMY_LEVELS.map((info, rank) => ({ ...info, rank })),
      ...settingsResolvers.Query,
      ...actionResolvers.Query,
    },
    Mutation: { ...settingsResolvers.Mutation, ...actionResolvers.Mutation },
    User: {
      __resolveReference: ownedUserReference(DATA_ADMIN_SCOPES.autonomy),
      async autonomy(user, { context }, { loaders }) {
        const checked = checkedContext(context);
        const setting = isUuid(user.id) ? await loaders.effectiveSetting({ userId: user.id, context: checked }) : null;
        return effectiveAutonomy(setting);
      },
    },
    AutonomyChange: {
      id: (change) => String(change.id),
      user: (change) => ({ id: change.userId }),
      context: (change) => contextOrNull(change.context),
    },
    AutonomyAction: {
      user: (action) => ({ id: action.userId }),
      context: (action) => contextOrNull(action.context),
    },
  };
}
