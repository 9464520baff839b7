import type { Principal } from '../../lib/auth/principal.js';
import { createBatchLoader } from '../../lib/batch-loader.js';
import type { SettingKey, SettingsRepository } from './data/settings-repository.js';

/** Per-request context of the autonomy subgraph. */
export interface AutonomyContext {
  /** The caller, as vouched for by the gateway's signed identity header. */
  principal: Principal;
  loaders: AutonomyLoaders;
}

export type AutonomyLoaders = ReturnType<typeof createAutonomyLoaders>;

// JSON, so no user id and context can spell another pair's id.
const settingId = ({ userId, context }: SettingKey) => JSON.stringify([userId, context]);

/** Made for each request: one query per level of a selection (lib/batch-loader.ts). */
export function createAutonomyLoaders(settings: SettingsRepository) {
  return {
    /** A user's effective setting for a context (see `effectiveSettings`). */
    effectiveSetting: createBatchLoader({
      idOf: settingId,
      async loadMany(keys: SettingKey[]) {
        const found = await settings.effectiveSettings(keys);
        return new Map(keys.map((key, index) => [settingId(key), found[index] ?? null]));
      },
      missing: null,
    }),
  };
}
