import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';

import type { GatewayEngine } from '../engine/engine.js';

/**
 * Serves the supergraph's API schema and hands every query and mutation to the engine.
 * Validation against the API schema has already run in Yoga by the time `onExecute` fires
 * (`args.schema` is the schema it validated against, which the engine executes with).
 */
export function useFederatedExecution(engine: Pick<GatewayEngine, 'schema' | 'execute'> & { onSchemaChange?(listener: (schema: GraphQLSchema) => void): void }): Plugin {
  return {
    onPluginInit({ setSchema }) {
      setSchema(engine.schema);
      // A reloaded supergraph: requests parsed from now on validate against its API schema.
      engine.onSchemaChange?.(setSchema);
    },
    onExecute({ setExecuteFn }) {
      setExecuteFn((args) => engine.execute(args));
    },
  };
}
