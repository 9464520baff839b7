import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface DrainOptions {
  /**
   * Time to keep accepting after draining starts, while `/ready` answers 503 and every response
   * says `Connection: close`: Kubernetes removes a terminating pod from Service endpoints
   * asynchronously, so kube-proxy and ingress controllers may send new connections here for a
   * few seconds after SIGTERM. Refusing them at once would fail those requests.
   */
  delayMs: number;
  /** Time for requests still in flight once accepting stops; connections left after it are dropped. */
  graceMs: number;
  /** Runs when accepting stops, before waiting for in-flight requests (e.g. closing WebSockets). */
  onStopAccepting?: () => Promise<void>;
  /** Told about each step, for the logs. */
  log?: (message: string) => void;
}

export interface RunningServer {
  server: Server;
  /** Base URL, e.g. `http://127.0.0.1:4000`. */
  url: string;
  port: number;
  /**
   * The Kubernetes drain sequence: responses carry `Connection: close` from now on, so kept-alive
   * clients reconnect elsewhere after their current request; after `delayMs` the listener stops
   * accepting and idle connections close; requests in flight get `graceMs` to finish, each
   * connection closing as soon as its request has; whatever is left is then dropped.
   * The caller turns its own `/ready` to 503 before calling this.
   */
  drain(options: DrainOptions): Promise<void>;
  /** `drain` without the delay: stops accepting now, gives in-flight requests `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

export async function listen(handler: RequestListener, options: { host: string; port: number }): Promise<RunningServer> {
  let draining = false;
  let accepting = true;
  const unanswered = new Set<ServerResponse>();
  // Listeners shared by every response, not closures made per request (the gateway's hot path).
  function forget(this: ServerResponse) {
    unanswered.delete(this);
  }
  // A response finishing once accepting has stopped (a long stream whose headers went out
  // before the drain) leaves its connection idle: close it then, not at the end of the grace
  // period. Listened for only from then on: on responses in flight when accepting stops, and
  // on any that start after.
  const closeIdleOnceDone = () => setImmediate(() => server.closeIdleConnections());
  const server = createServer((request, response) => {
    if (draining) response.setHeader('connection', 'close');
    unanswered.add(response);
    response.on('close', forget);
    if (!accepting) response.once('finish', closeIdleOnceDone);
    handler(request, response);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host === '0.0.0.0' ? '127.0.0.1' : options.host;

  const drain = async ({ delayMs, graceMs, onStopAccepting, log }: DrainOptions) => {
    draining = true;
    // Responses in progress whose headers are not out yet close their connection too.
    for (const response of unanswered) if (!response.headersSent) response.setHeader('connection', 'close');
    log?.(`draining: accepting for ${delayMs} ms more, responses say Connection: close`);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    accepting = false;
    for (const response of unanswered) response.once('finish', closeIdleOnceDone);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    log?.(`draining: stopped accepting; ${unanswered.size} request(s) in flight get up to ${graceMs} ms`);
    const timer = setTimeout(() => {
      for (const socket of sockets) socket.destroy();
    }, graceMs);
    await onStopAccepting?.();
    await closed;
    clearTimeout(timer);
  };

  return {
    server,
    port,
    url: `http://${hostForUrl}:${port}`,
    drain,
    close: (graceMs = 5_000) => drain({ delayMs: 0, graceMs }),
  };
}
