import type { Plugin } from 'graphql-yoga';

/** Request headers a cross-origin client may send: credentials, content type and the CSRF-preventing headers. */
export const CORS_ALLOWED_HEADERS = ['content-type', 'authorization', 'x-api-key', 'apollo-require-preflight', 'x-apollo-operation-name'];
/** @default 600 // s a browser may cache a preflight answer (Chromium caps it at 7200). */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for the origins in `CORS_ORIGINS` only (`['*']`: any origin, answered with a literal
 * `*`). Replaces Yoga's default, which reflects every Origin with credentials allowed and
 * echoes the preflight's requested headers. No `Access-Control-Allow-Credentials` is ever
 * sent: the API takes credentials from the Authorization or x-api-key header, never from
 * cookies, so a cross-origin page only acts with the credentials its own script holds.
 * An origin not on the list gets no CORS header, so the browser keeps its answer from it.
 * With an empty list this plugin is not installed: same-origin only.
 */
export function useCors(origins: readonly string[]): Plugin {
  const anyOrigin = origins.includes('*');
  const allowedOrigin = (request: Request): string | null => {
    const origin = request.headers.get('origin');
    if (origin === null) return null;
    if (anyOrigin) return '*';
    return origins.includes(origin) ? origin : null;
  };
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'OPTIONS') return;
      const origin = allowedOrigin(request);
      const headers: Record<string, string> = { 'content-length': '0' };
      if (origin !== null) {
        Object.assign(headers, {
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
          'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
        });
      }
      endResponse(new fetchAPI.Response(null, { status: 204, headers }));
    },
    onResponse({ request, response }) {
      // The answer depends on Origin unless every origin gets the same `*`.
      if (!anyOrigin) response.headers.append('vary', 'Origin');
      const origin = allowedOrigin(request);
      if (origin !== null) response.headers.set('access-control-allow-origin', origin);
    },
  };
}
