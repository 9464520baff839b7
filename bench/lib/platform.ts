import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { Redis } from 'ioredis';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import pg from 'pg';

import type { PlatformOptions, SubgraphName } from '../../embedded/platform.js';
import { createIdentitySigner, type IdentitySigner } from '../../lib/auth/identity-header.js';
import { ACCESS_TOKEN_ALG, loadIdentitySecret, loadSigningKeys, type SigningKeys } from '../../lib/auth/keys.js';
import { deleteKeysWithPrefix, redactUrl } from '../../lib/redis.js';
import type { WorkerConfig } from '../../worker/config.js';
import { GENEROUS_RATE_LIMIT_PLANS } from './gateway-process.js';
import { startServiceProcess } from './service-process.js';

/**
 * This run's secrets in their configuration (string) form, as a separately started gateway
 * takes them: IDENTITY_SIGNING_SECRET, JWT_PRIVATE_KEY (PKCS#8 PEM), JWT_PUBLIC_KEY (SPKI PEM).
 * Made fresh per run in this process and never written to disk.
 */
export interface BenchSecrets {
  identitySecret: string;
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
}

/** Platform options that cross the IPC channel: plain data, the secrets in their string form. */
export type HostPlatformOptions = Omit<PlatformOptions, 'secrets' | 'clock'> & { secrets: BenchSecrets };

/** Parent → platform process. */
export type HostRequest = { type: 'start'; options: HostPlatformOptions } | { type: 'stop' };
/** Platform process → parent. */
export type HostReply =
  | { type: 'ready'; gatewayUrl: string; subgraphUrls: Record<SubgraphName, string> }
  | { type: 'failed'; message: string };

export interface BenchPlatformOptions {
  databaseAdminUrl: string;
  redisUrl: string;
  logLevel: string;
  /** Aborting it during start-up undoes what was done so far and rejects. */
  signal?: AbortSignal | undefined;
  /**
   * Worker and inference-subgraph settings over their defaults (the inference benchmark's
   * backend and limits). With real services, a worker given settings here runs as a process of
   * its own, as deployed (its own Deployment on GPU nodes), not inside the platform process.
   */
  services?: Pick<HostPlatformOptions, 'worker' | 'inference' | 'gatewayEnv'>;
}

export interface BenchPlatform {
  /** `services`: real PostgreSQL and Redis; `embedded`: PGlite in memory and the in-process Redis stand-in. */
  mode: 'services' | 'embedded';
  /** Where the worker runs: inside the platform process, or as a process of its own (see `services`). */
  worker: 'in the platform process' | 'in its own process';
  /** One line for the report: where the data lives and why. */
  description: string;
  gatewayUrl: string;
  subgraphUrls: Record<SubgraphName, string>;
  /** Signs identity headers as the gateway does, for requests sent to a subgraph directly. */
  identity: IdentitySigner;
  /** The secrets the platform runs with (a second gateway started by the benchmark needs them). */
  secrets: BenchSecrets;
  /** The platform's access-token keys, imported (the public one verifies tokens as the gateway does). */
  keys: SigningKeys;
  /** The Redis the platform uses (`url` undefined in embedded mode: the stand-in lives in the platform process) and its key prefix. */
  redis: { url: string | undefined; keyPrefix: string };
  /** Stops the platform process, deletes this run's Redis keys and drops its database. Idempotent. */
  stop(): Promise<void>;
}

const HOST_ENTRY = fileURLToPath(new URL('./platform-process.ts', import.meta.url));
/** The compiled worker, as production runs it (`npm run bench` builds it first). */
const WORKER_ENTRY = fileURLToPath(new URL('../../dist/worker/main.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** @default 120_000 // 2 min: migrations plus supergraph composition, with room for a slow CI box */
const START_TIMEOUT_MS = 120_000;
/** @default 15_000 // 15 s for a graceful stop before SIGKILL */
const STOP_TIMEOUT_MS = 15_000;
/** @default 3_000 // 3 s: a service slower than this to accept a connection counts as unreachable */
const PROBE_TIMEOUT_MS = 3_000;

/**
 * The whole platform (`startPlatform`: four subgraphs, gateway, worker) in a child process of
 * its own, so the load generator in this process never competes with it for an event loop.
 * Against the real PostgreSQL and Redis it gets a throwaway database and its own Redis key
 * prefix; when either service is unreachable it runs embedded instead and says so.
 */
export async function startBenchPlatform(options: BenchPlatformOptions): Promise<BenchPlatform> {
  const runId = randomBytes(6).toString('hex');
  const redisKeyPrefix = `lotabots_bench:${runId}:`;
  const cleanup: Array<() => Promise<void>> = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      let firstError: unknown;
      for (const step of cleanup.reverse()) {
        await step().catch((error: unknown) => {
          firstError ??= error;
        });
      }
      if (firstError !== undefined) throw firstError;
    })());

  try {
    const unreachable = [
      ...((await redisReachable(options.redisUrl)) ? [] : [`Redis at ${redactUrl(options.redisUrl)}`]),
      ...((await postgresReachable(options.databaseAdminUrl)) ? [] : [`PostgreSQL at ${redactUrl(options.databaseAdminUrl)}`]),
    ];
    // Fresh secrets per run, never written to disk (the development defaults would be).
    const secrets = await freshSecrets();
    const keySource = { devKeyDir: '', production: false };
    const identity = createIdentitySigner(await loadIdentitySecret({ ...keySource, secret: secrets.identitySecret }));
    const keys = await loadSigningKeys({ ...keySource, ...secrets }, true);
    const platformOptions: HostPlatformOptions = {
      host: '127.0.0.1',
      ports: { gateway: 0, users: 0, inference: 0, usage: 0, autonomy: 0, worker: 0, metrics: 0 },
      embeddedDataDir: 'memory://',
      redisKeyPrefix,
      logLevel: options.logLevel,
      secrets,
      ...options.services,
      gatewayEnv: { RATE_LIMIT_PLANS: GENEROUS_RATE_LIMIT_PLANS, ...options.services?.gatewayEnv },
    };
    let mode: BenchPlatform['mode'];
    let description: string;
    options.signal?.throwIfAborted();
    if (unreachable.length === 0) {
      const database = await createDatabase(options.databaseAdminUrl, `lotabots_bench_${runId}`);
      cleanup.push(database.drop);
      cleanup.push(() => deleteKeysWithPrefix(options.redisUrl, redisKeyPrefix));
      platformOptions.databaseUrl = database.url;
      platformOptions.redisUrl = options.redisUrl;
      mode = 'services';
      description = `PostgreSQL (${redactUrl(options.databaseAdminUrl)}, throwaway database) and Redis (${redactUrl(options.redisUrl)}, key prefix ${redisKeyPrefix})`;
    } else {
      mode = 'embedded';
      description = `EMBEDDED MODE (PGlite in memory, in-process Redis stand-in) because ${unreachable.join(' and ')} is unreachable; numbers are not comparable with a services run`;
    }

    // The in-process bus of embedded mode reaches no other process.
    const ownWorker = mode === 'services' && options.services?.worker !== undefined;
    if (ownWorker) platformOptions.startWorker = false;
    const child = fork(HOST_ENTRY, [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', import.meta.resolve('tsx')],
      // The platform's logs (stdout) go to our stderr, so our stdout carries only the report.
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    cleanup.push(() => stopChild(child));
    const ready = await startChild(child, platformOptions, options.signal);
    if (ownWorker) {
      const env = workerEnv(options.services!.worker!, { redisUrl: options.redisUrl, redisKeyPrefix, logLevel: options.logLevel });
      const worker = await startServiceProcess('worker', WORKER_ENTRY, env);
      cleanup.push(worker.stop);
    }
    return {
      mode,
      worker: ownWorker ? 'in its own process' : 'in the platform process',
      description,
      gatewayUrl: ready.gatewayUrl,
      subgraphUrls: ready.subgraphUrls,
      identity,
      secrets,
      keys,
      redis: { url: platformOptions.redisUrl, keyPrefix: redisKeyPrefix },
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/** A worker process's environment: `settings` in their environment form, on the platform's Redis, as production runs it. */
function workerEnv(settings: Partial<WorkerConfig>, placement: { redisUrl: string; redisKeyPrefix: string; logLevel: string }): Record<string, string> {
  const env: Record<string, string> = { NODE_ENV: 'production', REDIS_URL: placement.redisUrl, REDIS_KEY_PREFIX: placement.redisKeyPrefix, LOG_LEVEL: placement.logLevel };
  for (const [name, value] of Object.entries(settings)) {
    if (value !== undefined) env[name] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return env;
}

/** A new identity secret and access-token key pair, in configuration form, kept in memory only. */
export async function freshSecrets(): Promise<BenchSecrets> {
  const pair = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
  return {
    identitySecret: randomBytes(32).toString('base64url'),
    privateKeyPem: await exportPKCS8(pair.privateKey),
    publicKeyPem: await exportSPKI(pair.publicKey),
    keyId: 'bench',
  };
}

function startChild(
  child: ChildProcess,
  options: HostPlatformOptions,
  signal: AbortSignal | undefined,
): Promise<Extract<HostReply, { type: 'ready' }>> {
  return new Promise((resolve, reject) => {
    const onAbort = () => finish(new Error('start-up interrupted'));
    const timer = setTimeout(() => finish(new Error(`the platform did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const onMessage = (reply: HostReply) => finish(reply.type === 'ready' ? reply : new Error(`the platform failed to start: ${reply.message}`));
    const onExit = (code: number | null, signal: string | null) =>
      finish(new Error(`the platform process exited during start-up (${signal ?? `status ${code}`})`));
    const finish = (outcome: Extract<HostReply, { type: 'ready' }> | Error) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', finish);
      signal?.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', finish);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort);
    child.send({ type: 'start', options } satisfies HostRequest);
  });
}

/** Asks the platform process to stop gracefully; kills it when it takes too long. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send({ type: 'stop' } satisfies HostRequest);
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

async function postgresReachable(adminUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function redisReachable(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function createDatabase(adminUrl: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
