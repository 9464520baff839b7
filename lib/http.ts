import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RunningServer {
  server: Server;
  /** Base URL, e.g. `http://127.0.0.1:4000`. */
  url: string;
  port: number;
  /** Stops accepting, waits up to `graceMs` for in-flight requests, then drops what is left. */
  close(graceMs?: number): Promise<void>;
}

export async function listen(handler: RequestListener, options: { host: string; port: number }): Promise<RunningServer> {
  const server = createServer(handler);
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
  return {
    server,
    port,
    url: `http://${hostForUrl}:${port}`,
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, graceMs).unref();
      }),
  };
}
