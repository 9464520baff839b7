import type { Registry } from 'prom-client';

import { listen, type RunningServer } from './http.js';

/**
 * Serves Prometheus text on a port of its own (`METRICS_PORT`), never on a service's public
 * port: metric names, label values and process details are for the cluster's scraper, not for
 * anyone who can reach `/graphql`. `routes` maps a path to the registry served there: `/metrics`
 * for a process running one service; `/metrics/<service>` for the all-in-one start, where each
 * service keeps its own registry. Anything else is 404.
 */
export function listenMetrics(routes: Record<string, Registry>, options: { host: string; port: number }): Promise<RunningServer> {
  return listen((request, response) => {
    const registry = request.method === 'GET' ? routes[new URL(request.url ?? '/', 'http://metrics').pathname] : undefined;
    if (!registry) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable'),
    );
  }, options);
}
