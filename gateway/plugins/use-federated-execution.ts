import type { GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { OperationExecutor } from '../execution/executor.js';

/**
 * Serves the supergraph's API schema and hands every query and mutation to the executor.
 * Validation against the API schema has already run in Yoga by the time `onExecute` fires.
 */
export function useFederatedExecution(apiSchema: GraphQLSchema, executor: OperationExecutor): Plugin {
  return {
    onPluginInit({ setSchema }) {
      setSchema(apiSchema);
    },
    onExecute({ setExecuteFn }) {
      setExecuteFn((args) => executor.execute(args));
    },
  };
}
