import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const REQUEST_ERROR_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED']);

/**
 * A document that does not parse or validate is the client's mistake: answer HTTP 400
 * whatever the Accept header (as Apollo Server and Router do). Yoga alone answers 200 for
 * `Accept: application/json`, following the GraphQL-over-HTTP spec's legacy rule.
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
