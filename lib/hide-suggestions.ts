import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** graphql-js's hint: `Did you mean "name"?`, `Did you mean "a" or "b"?`, `Did you mean the enum value "X"?`. */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * Removes graphql-js's "Did you mean …?" hints from every error of a result (validation,
 * variable coercion, anything): they name fields, arguments, types and enum values of the
 * schema, which lets anyone rebuild a schema whose introspection is off. New error objects,
 * so cached validation results keep their messages.
 */
export function useHideSuggestions(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !('errors' in result)) return;
      const errors = (result as ExecutionResult).errors;
      const cleaned = errors?.map(withoutSuggestion);
      if (cleaned?.some((error, i) => error !== errors![i])) setResult({ ...result, errors: cleaned } as ExecutionResult);
    },
  };
}

function withoutSuggestion(error: GraphQLError): GraphQLError {
  const message = error.message.replace(SUGGESTION, '');
  if (message === error.message) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}
