import { readFileSync } from 'node:fs';

import type { Plugin } from 'graphql-yoga';

const ASSETS = {
  '/dashboard': ['index.html', 'text/html; charset=utf-8'],
  '/dashboard/dashboard.js': ['dashboard.js', 'text/javascript; charset=utf-8'],
  '/dashboard/dashboard.css': ['dashboard.css', 'text/css; charset=utf-8'],
} as const;

/**
 * Serves the live dashboard at `/dashboard`: a static page that subscribes to
 * `platformMetrics` through this gateway (so it needs a token with `metrics:read`). The
 * files are read once when the gateway is built. The page loads nothing from elsewhere,
 * and the Content-Security-Policy says so.
 */
export function useDashboard(): Plugin {
  const files = new Map(
    Object.entries(ASSETS).map(([path, [file, type]]) => [path, { body: readFileSync(new URL(`../dashboard/${file}`, import.meta.url)), type }]),
  );
  return {
    onRequest({ url, request, endResponse, fetchAPI }) {
      const asset = files.get(url.pathname);
      if (!asset || request.method !== 'GET') return;
      endResponse(
        new fetchAPI.Response(asset.body, {
          headers: {
            'content-type': asset.type,
            'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            'x-content-type-options': 'nosniff',
            'cache-control': 'no-cache',
          },
        }),
      );
    },
  };
}
