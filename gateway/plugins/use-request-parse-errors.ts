import { isPromise, type Plugin } from 'graphql-yoga';

import { graphqlError } from '../../lib/errors.js';

/**
 * Yoga's GET and form parsers `JSON.parse` the `variables` and `extensions` parameters
 * without catching, so `?variables={` reached the client as INTERNAL_SERVER_ERROR (a bare
 * SyntaxError, logged as our bug). Whatever parser Yoga picked for the request, a JSON syntax
 * error in what it parses is the client's mistake: HTTP 400 BAD_REQUEST, as Yoga already
 * answers an invalid JSON body.
 */
export function useRequestParseErrors(): Plugin {
  const asBadRequest = (error: unknown): never => {
    if (!(error instanceof SyntaxError)) throw error;
    throw graphqlError('BAD_REQUEST', 'The variables or extensions parameter is not valid JSON.', { http: { status: 400 } });
  };
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      // Not an async wrapper: on every request that would add a promise and a wait around the
      // parser's own; a parser that answers at once (GET) still may.
      setRequestParser((request) => {
        try {
          const parsed = requestParser(request);
          return isPromise(parsed) ? parsed.catch(asBadRequest) : parsed;
        } catch (error) {
          return asBadRequest(error);
        }
      });
    },
  };
}
