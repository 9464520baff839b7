import type { Plugin } from 'graphql-yoga';

import type { GatewayEngine } from '../engine/engine.js';

/**
 * Serves the supergraph's API schema and hands every query and mutation to the engine.
 * Validation against the API schema has already run in Yoga by the time `onExecute` fires.
 */
export function useFederatedExecution(engine: Pick<GatewayEngine, 'schema' | 'execute'>): Plugin {
  return {
    onPluginInit({ setSchema }) {
      setSchema(engine.schema);
    },
    onExecute({ setExecuteFn }) {
      setExecuteFn((args) => engine.execute(args));
    },
  };
}
