import type { Plugin } from 'graphql-yoga';

import { graphqlError } from '../../lib/errors.js';

/** Content types a browser sends cross-site without a CORS preflight (a form, or fetch with no-cors). */
const SIMPLE_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];
/** Headers no browser adds on its own, so their presence proves the page passed a CORS preflight. */
export const CSRF_PREVENTING_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name'];

/**
 * CSRF prevention as Apollo Router and Apollo Server do it (and Yoga's csrfPrevention): a
 * GraphQL request is executed only if a browser must have preflighted it, that is if its
 * Content-Type is present and not one of the three simple ones, or it carries a non-empty
 * `apollo-require-preflight` or `x-apollo-operation-name` header. Anything else (an HTML
 * form posting urlencoded or multipart data, a text/plain POST, a GET without either
 * header) is answered 400 with BAD_REQUEST before it is parsed. JSON POSTs, the usual
 * client request, pass; clients that send queries as GET add `apollo-require-preflight: true`.
 */
export function useCsrfPrevention(): Plugin {
  return {
    onRequestParse({ request }) {
      if (isPreflighted(request.headers)) return;
      throw graphqlError(
        'BAD_REQUEST',
        'This request has been blocked as a possible cross-site request forgery: send a Content-Type other than ' +
          `${SIMPLE_CONTENT_TYPES.join(', ')}, or a non-empty ${CSRF_PREVENTING_HEADERS.join(' or ')} header`,
        { http: { status: 400 } },
      );
    },
  };
}

function isPreflighted(headers: Headers): boolean {
  const contentType = headers.get('content-type');
  if (contentType !== null) {
    const essence = contentType.split(';', 1)[0]!.trim().toLowerCase();
    if (!SIMPLE_CONTENT_TYPES.includes(essence)) return true;
  }
  return CSRF_PREVENTING_HEADERS.some((name) => Boolean(headers.get(name)));
}
