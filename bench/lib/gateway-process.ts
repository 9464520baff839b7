import { existsSync } from 'node:fs';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { createRevokedSessionsCache } from '../../lib/auth/revocation.js';
import { connectRedis } from '../../lib/redis.js';
import type { BenchContext } from '../scenarios.js';
import { deployedGateway } from './deployed-gateway.js';
import { startServiceProcess } from './service-process.js';

/** The compiled gateway, as production runs it (`npm run bench` builds it first). */
const GATEWAY_ENTRY = fileURLToPath(new URL('../../dist/gateway/main.js', import.meta.url));

export interface GatewayProcessOptions {
  /** The gateway's settings (gateway/config.ts) in environment form; HOST and PORT are set here. */
  env: Record<string, string>;
}

/** Memory of a process as the kernel counts it (`/proc/<pid>/status`), in KiB; null off Linux. */
export interface ProcessMemory {
  /** VmRSS: resident now. */
  rssKiB: number;
  /** VmHWM: the most it was ever resident. */
  hwmKiB: number;
}

export interface GatewayProcess {
  pid: number;
  /** `http://127.0.0.1:<port>/graphql` (graphql-ws on the same path). */
  url: string;
  memory(): Promise<ProcessMemory | null>;
  /** Resets VmHWM to the current RSS (`/proc/<pid>/clear_refs`), so it tracks the peak from now on; false where the kernel refuses. */
  resetPeak(): Promise<boolean>;
  /** False once the process has exited (crashed, killed or stopped). */
  alive(): boolean;
  /** Every sample of the gateway's Prometheus `/metrics` (name with labels → value). */
  metrics(): Promise<Map<string, number>>;
  /** Established TCP connections this process holds to `port` on 127.0.0.1 (Linux; null elsewhere). */
  connectionsTo(port: number): Promise<number | null>;
  /** SIGTERM to its process group, SIGKILL after STOP_TIMEOUT_MS. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the compiled gateway, `dist/gateway/main.js`, as a process of its own (in its own process
 * group, with exactly the given environment plus PATH), so its memory is the gateway's alone,
 * and waits until `/ready` answers 200. Its logs go to this process's stderr. Should this
 * process exit without stopping it, an exit hook kills the group.
 */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  if (!existsSync(GATEWAY_ENTRY)) throw new Error(`${GATEWAY_ENTRY} is missing: run \`npm run build\` first`);
  if (options.env.REDIS_URL && options.env.REDIS_KEY_PREFIX !== undefined) await markRevocationsComplete(options.env.REDIS_URL, options.env.REDIS_KEY_PREFIX);
  const { child, pid, base, metricsPort, stop } = await startServiceProcess('gateway', GATEWAY_ENTRY, options.env);
  return {
    pid,
    url: `${base}/graphql`,
    memory: () => processMemory(pid),
    resetPeak: () => writeFile(`/proc/${pid}/clear_refs`, '5').then(() => true, () => false),
    alive: () => child.exitCode === null && child.signalCode === null,
    metrics: async () => parsePrometheus(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()),
    connectionsTo: (remotePort) => establishedConnections(pid, remotePort),
    stop,
  };
}

/**
 * Settings of a gateway process in front of the benchmark platform, as production runs it:
 * `NODE_ENV=production`, `supergraph.yaml` composed at start-up with the platform's subgraph
 * URLs, the platform's secrets and Redis, under a sub-prefix of its key prefix (deleted with it).
 */
/**
 * Every plan tier with a budget no benchmark window empties: a benchmark drives thousands of
 * requests a second from one address and one user, which the default budgets (rightly) refuse.
 * Gateways still price and charge every operation; they never refuse one.
 */
const GENEROUS_PLAN = { bucketSize: 1_000_000_000, restorePerSecond: 1_000_000_000, requestsPerWindow: 1_000_000_000, windowSeconds: 1 };
export const GENEROUS_RATE_LIMIT_PLANS = JSON.stringify({ free: GENEROUS_PLAN, pro: GENEROUS_PLAN, enterprise: GENEROUS_PLAN });

export function platformGatewayEnv(
  context: Pick<BenchContext, 'subgraphUrls' | 'secrets' | 'redis'>,
  options: { keyPrefixSuffix: string; logLevel: string; nodeOptions: string },
): Record<string, string> {
  if (!context.redis.url) throw new Error('a gateway process needs the real Redis');
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: options.logLevel,
    SUPERGRAPH_CONFIG: fileURLToPath(new URL('../../supergraph.yaml', import.meta.url)),
    SUBGRAPH_URLS: Object.entries(context.subgraphUrls)
      .map(([name, url]) => `${name}=${url}`)
      .join(','),
    IDENTITY_SIGNING_SECRET: context.secrets.identitySecret,
    JWT_PUBLIC_KEY: context.secrets.publicKeyPem,
    JWT_KEY_ID: context.secrets.keyId,
    REDIS_URL: context.redis.url,
    REDIS_KEY_PREFIX: `${context.redis.keyPrefix}${options.keyPrefixSuffix}`,
    NODE_OPTIONS: options.nodeOptions,
    RATE_LIMIT_PLANS: GENEROUS_RATE_LIMIT_PLANS,
    ...deployedGateway().env,
  };
}

/**
 * Marks the revoked-sessions set under a gateway's key prefix complete, as the users subgraph
 * does under the platform's prefix once it has copied PostgreSQL's revocations
 * (lib/auth/revocation.ts). Without the marker a gateway under a sub-prefix of its own asks
 * the users subgraph about the session of every access token it sees: a subgraph round trip
 * per request that production does not make. Nothing in the benchmark revokes a session, so
 * the empty set is the complete one.
 */
async function markRevocationsComplete(url: string, keyPrefix: string): Promise<void> {
  const redis = await connectRedis({ url, keyPrefix });
  try {
    await createRevokedSessionsCache(redis).markComplete();
  } finally {
    redis.disconnect();
  }
}

async function processMemory(pid: number): Promise<ProcessMemory | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  if (status === null) return null;
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** Prometheus text format → `name{labels}` → value (comments skipped). */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

/** The value of the first sample named `name` (whatever its labels), or NaN. */
export function metricValue(samples: Map<string, number>, name: string): number {
  for (const [key, value] of samples) if (key === name || key.startsWith(`${name}{`)) return value;
  return Number.NaN;
}

/** Counts the process's sockets that are established TCP connections to 127.0.0.1:`port`. */
async function establishedConnections(pid: number, port: number): Promise<number | null> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => null);
  if (fds === null) return null;
  const inodes = new Set<string>();
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1]!);
  }
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      // sl local_address rem_address st … inode (10th column)
      if (columns.length < 10 || columns[3] !== '01') continue;
      const remotePort = Number.parseInt(columns[2]!.split(':').pop()!, 16);
      if (remotePort === port && inodes.has(columns[9]!)) count++;
    }
  }
  return count;
}
