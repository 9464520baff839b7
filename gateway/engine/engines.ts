import type { EngineOptions, GatewayEngine } from './engine.js';
import { createNativeEngine } from './native/native-engine.js';

/**
 * The engines the gateway can run (`GATEWAY_ENGINE`): the same contract, two executors.
 * `@apollo/gateway` is loaded only when its engine is chosen (it is most of the engine's memory).
 * The differential test (test/engine-diff/) runs its corpus through each and compares with `apollo`.
 */
export const engineFactories: Record<'native' | 'apollo', (options: EngineOptions) => Promise<GatewayEngine>> = {
  native: createNativeEngine,
  apollo: async (options) => (await import('./apollo-engine.js')).createApolloEngine(options),
};
