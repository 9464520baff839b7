import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** @default 90_000 // 90 s: the gateway composes the supergraph at start-up */
const READY_TIMEOUT_MS = 90_000;
/** @default 15_000 // 15 s for a graceful stop (the gateway closes every WebSocket) before SIGKILL */
const STOP_TIMEOUT_MS = 15_000;

export interface ServiceProcess {
  child: ChildProcess;
  pid: number;
  /** `http://127.0.0.1:<PORT>`. */
  base: string;
  metricsPort: number;
  /** SIGTERM to its process group, SIGKILL after STOP_TIMEOUT_MS. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a compiled service entry (`dist/…/main.js`) as a process of its own, in its own
 * process group, with exactly `env` plus PATH and free HOST/PORT/METRICS_PORT, and waits until
 * its `/ready` answers 200. Its logs go to this process's stderr. Should this process exit
 * without stopping it, an exit hook kills the group.
 */
export async function startServiceProcess(name: string, entry: string, env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, HOST: '127.0.0.1', PORT: String(port), METRICS_PORT: String(metricsPort) },
    detached: true,
    stdio: ['ignore', 2, 2],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the ${name} process`);
  const killGroup = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.on('exit', killGroup);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= stopGroup(child, pid).finally(() => {
      process.off('exit', killGroup);
    }));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(name, child, `${base}/ready`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, pid, base, metricsPort, stop };
}

async function stopGroup(child: ChildProcess, pid: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
    } catch {
      // Already gone.
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  // Anything the service left in its group goes with it.
  signal('SIGKILL');
}

async function waitReady(name: string, child: ChildProcess, readyUrl: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exit: string | null = null;
  child.once('exit', (code, signal) => (exit = signal ?? `status ${code}`));
  for (;;) {
    if (exit !== null) throw new Error(`the ${name} process exited during start-up (${exit})`);
    const ready = await fetch(readyUrl, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`the ${name} process was not ready within ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A port free on 127.0.0.1 now (the service binds it a moment later). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
