import type { ExecutionArgs, ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

import type { AuthContext } from '../auth/use-auth.js';
import { mergeIntoResult, resultWithoutExecution } from './apply.js';
import { createOperationAuthorizer } from './authorizer.js';
import type { AuthorizationRequirements } from './requirements.js';

/**
 * Enforces the supergraph's `@authenticated` and `@requiresScopes` the way Apollo Router does
 * (filter mode; the full semantics are in this folder's README.md).
 * Goes right after useAuth, before any plugin that executes: it replaces `args.document`
 * with the filtered operation in `onExecute`/`onSubscribe`, so later plugins (cost, the
 * federated executor) see only what will run; the response is merged in `onExecuteDone` /
 * `onSubscribeResult`.
 */
export function useAuthDirectives(requirements: AuthorizationRequirements): Plugin<Partial<AuthContext>> {
  if (!requirements.active) return {};
  const authorizer = createOperationAuthorizer(requirements);

  /** Swaps in the filtered operation and returns how to merge its results; null: nothing to merge. */
  const filter = (args: ExecutionArgs, stop: (result: ExecutionResult) => void): ((result: ExecutionResult) => ExecutionResult) | null => {
    const principal = (args.contextValue as Partial<AuthContext> | undefined)?.principal;
    const plan = authorizer.authorize(args.schema, args.document, args.operationName, principal);
    if (!plan) return null;
    const variables = args.variableValues as Record<string, unknown> | null | undefined;
    if (!plan.execute) {
      stop(resultWithoutExecution(plan, variables));
      return null;
    }
    // envelop hands this same `args` object to the executor (and subscribe) after the hooks ran.
    args.document = plan.document;
    return (result) => mergeIntoResult(plan, result, variables);
  };

  return {
    onExecute({ args, setResultAndStopExecution }) {
      const apply = filter(args, setResultAndStopExecution);
      if (!apply) return;
      return {
        onExecuteDone({ result, setResult }) {
          if (!isAsyncIterable(result)) return setResult(apply(result));
          return { onNext: ({ result: next, setResult: setNext }) => setNext(applyToPayload(apply, next)) };
        },
      };
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const apply = filter(args, setResultAndStopExecution);
      if (!apply) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return setResult(apply(result));
          return { onNext: ({ result: next, setResult: setNext }) => setNext(applyToPayload(apply, next)) };
        },
      };
    },
  };
}

/** Each subscription event is a whole result; incremental-delivery patches (no `data`) pass as they are. */
function applyToPayload<T>(apply: (result: ExecutionResult) => ExecutionResult, payload: T): T {
  return typeof payload === 'object' && payload !== null && 'data' in payload ? (apply(payload as ExecutionResult) as T) : payload;
}
