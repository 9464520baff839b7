import type { ExecutionArgs, ExecutionResult } from 'graphql';

/**
 * The one seam through which queries and mutations reach the subgraphs: given a validated
 * operation, plan it against the supergraph and execute the plan. Today's implementation
 * is `@apollo/gateway`'s; a faster executor replaces it here without touching the plugins.
 */
export interface OperationExecutor {
  execute(args: ExecutionArgs): Promise<ExecutionResult>;
}
