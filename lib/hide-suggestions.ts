import { type ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** graphql-js's hint: `Did you mean "name"?`, `Did you mean "a" or "b"?`, `Did you mean the enum value "X"?`. */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * Removes graphql-js's "Did you mean …?" hints from error messages: they name fields,
 * arguments, types and enum values of the schema, which lets anyone rebuild a schema whose
 * introspection is off. Envelop hooks, so HTTP and WebSocket alike: validation errors, and
 * the errors of a result that never ran (variable coercion: "Value "X" does not exist in
 * "E" enum. Did you mean …?"). New error objects, so cached validation results keep theirs.
 */
export function useHideSuggestions(): Plugin {
  const cleanResult = ({ result, setResult }: { result: unknown; setResult(result: ExecutionResult): void }) => {
    const errors = (result as ExecutionResult).errors;
    const cleaned = errors?.map((error) => withoutSuggestion(error) as GraphQLError);
    if (cleaned?.some((error, i) => error !== errors![i])) setResult({ ...(result as ExecutionResult), errors: cleaned });
  };
  return {
    onValidate: () => ({ result, setResult }) => {
      const cleaned = result.map(withoutSuggestion);
      if (cleaned.some((error, i) => error !== result[i])) setResult(cleaned);
    },
    onExecute: () => ({ onExecuteDone: cleanResult }),
    onSubscribe: () => ({ onSubscribeResult: cleanResult }),
  };
}

function withoutSuggestion<E extends Error>(error: E): E | GraphQLError {
  const message = error.message.replace(SUGGESTION, '');
  if (message === error.message || !(error instanceof GraphQLError)) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}
