import { createApolloEngine } from './apollo-engine.js';
import type { EngineOptions, GatewayEngine } from './engine.js';

/**
 * Every engine the gateway can run, by name. The differential test (test/engine-diff/) runs its
 * corpus through each of them and compares the answers with `apollo`'s.
 */
export const engineFactories: Record<string, (options: EngineOptions) => Promise<GatewayEngine>> = {
  apollo: createApolloEngine,
};
