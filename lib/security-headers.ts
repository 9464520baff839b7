import type { Plugin } from 'graphql-yoga';

export interface SecurityHeadersOptions {
  /**
   * Request headers that carry credentials: an answer to a request with any of them is
   * someone's own data and gets `Cache-Control: no-store`, so no shared or browser cache
   * keeps it.
   */
  credentialHeaders: readonly string[];
  /** `Strict-Transport-Security: max-age=…` on every response; 0 sends none (TLS ends elsewhere, or not yet). */
  hstsMaxAgeSeconds?: number;
}

/**
 * Security headers on every response, whatever produced it (GraphQL, GraphiQL, health,
 * metrics, the dashboard, an error):
 * - `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`;
 * - `Content-Security-Policy`: `frame-ancestors 'none'` on HTML (GraphiQL; the dashboard
 *   sets its own, stricter one) and `default-src 'none'; frame-ancestors 'none'` on anything
 *   else, which no browser should render as a page; `X-Frame-Options: DENY` for browsers
 *   without CSP;
 * - `Strict-Transport-Security` when `hstsMaxAgeSeconds` is set;
 * - `Cache-Control: no-store` on answers to requests that carried credentials.
 * Response headers never repeat request headers: Yoga's 406 lists its media types once per
 * type the client's Accept named (an 8 KB Accept made 291 KiB of headers); the list is
 * reduced to the distinct types here.
 */
export function useSecurityHeaders(options: SecurityHeadersOptions): Plugin {
  const hsts = options.hstsMaxAgeSeconds ? `max-age=${options.hstsMaxAgeSeconds}; includeSubDomains` : null;
  return {
    onResponse({ request, response }) {
      const headers = response.headers;
      headers.set('x-content-type-options', 'nosniff');
      headers.set('referrer-policy', 'no-referrer');
      headers.set('x-frame-options', 'DENY');
      if (!headers.has('content-security-policy')) {
        const html = headers.get('content-type')?.startsWith('text/html') ?? false;
        headers.set('content-security-policy', html ? "frame-ancestors 'none'" : "default-src 'none'; frame-ancestors 'none'");
      }
      if (hsts) headers.set('strict-transport-security', hsts);
      if (options.credentialHeaders.some((name) => request.headers.has(name))) headers.set('cache-control', 'no-store');
      const accept = headers.get('accept');
      if (response.status === 406 && accept) headers.set('accept', [...new Set(accept.split(',').map((type) => type.trim()))].join(', '));
    },
  };
}
