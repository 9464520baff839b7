import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** BAD_USER_INPUT counts only in a result without `data`: variables that did not coerce, so nothing ran. */
const REQUEST_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

/**
 * A document that does not parse or validate, or variables that do not fit it, are the
 * client's mistake, a request error in the GraphQL-over-HTTP spec: answer HTTP 400 whatever
 * the Accept header (as Apollo Router, and Apollo Server for variables since v5, do). Yoga
 * alone answers 200 for `Accept: application/json`, following the spec's legacy rule.
 */
export function useRequestErrorStatus(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !('errors' in result) || 'data' in result) return;
      const { errors, extensions } = result as ExecutionResult;
      if (!errors?.some((error) => REQUEST_ERROR_CODES.has(String(error.extensions?.code)))) return;
      setResult({ ...result, extensions: { ...extensions, http: { status: 400 } } } as ExecutionResult);
    },
  };
}
