import type { ApolloGateway } from '@apollo/gateway';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { getOperationAST, print, type DocumentNode } from 'graphql';
import type { Logger } from '../../lib/logger.js';
import type { OperationExecutor } from './executor.js';

/**
 * Executes through `ApolloGateway.executor`, which plans (query plans cached by the gateway)
 * and runs the plan with its data sources. The printed document is memoised per document
 * object, since Yoga reuses parsed documents from its parse cache.
 */
export function createApolloExecutor(gateway: ApolloGateway, logger: Logger): OperationExecutor {
  const printed = new WeakMap<DocumentNode, string>();
  const cache = new InMemoryLRUCache();
  const gatewayLogger = {
    debug: (message: string) => logger.debug(message),
    info: (message: string) => logger.info(message),
    warn: (message: string) => logger.warn(message),
    error: (message: string) => logger.error(message),
  };
  return {
    async execute(args) {
      let source = printed.get(args.document);
      if (source === undefined) {
        source = print(args.document);
        printed.set(args.document, source);
      }
      const operation = getOperationAST(args.document, args.operationName ?? undefined);
      if (!operation) throw new Error('operation not found in a validated document');
      const result = await gateway.executor({
        document: args.document,
        request: {
          query: source,
          operationName: args.operationName ?? undefined,
          variables: (args.variableValues ?? undefined) as Record<string, unknown> | undefined,
        },
        operationName: args.operationName ?? null,
        operation,
        source,
        queryHash: source,
        schema: args.schema,
        context: args.contextValue as Record<string, unknown>,
        cache,
        logger: gatewayLogger,
        metrics: {},
      } as unknown as Parameters<ApolloGateway['executor']>[0]);
      return result as never;
    },
  };
}
