/**
 * Entry of the benchmark's platform process (forked by `startBenchPlatform`): waits for a
 * `start` message, runs `startPlatform` with its options and replies `ready` with the URLs.
 * On a `stop` message, or when the parent goes away (the IPC channel closes), it stops the
 * platform and exits, so an interrupted benchmark leaves no process behind.
 */
import { type PlatformSecrets, type RunningPlatform, startPlatform } from '../../embedded/platform.js';
import { loadIdentitySecret, loadSigningKeys } from '../../lib/auth/keys.js';
import type { BenchSecrets, HostPlatformOptions, HostReply, HostRequest } from './platform.js';

let platform: RunningPlatform | undefined;
let stopping = false;

function reply(message: HostReply): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

/** The run's identity secret and access-token key pair (made by the parent, never on disk). */
async function secretsFor(secrets: BenchSecrets): Promise<PlatformSecrets> {
  const source = { devKeyDir: '', production: false };
  return {
    identitySecret: await loadIdentitySecret({ ...source, secret: secrets.identitySecret }),
    signingKeys: await loadSigningKeys({ ...source, ...secrets }, true),
  };
}

async function start({ secrets, ...options }: HostPlatformOptions): Promise<RunningPlatform> {
  return startPlatform({ ...options, secrets: await secretsFor(secrets) });
}

async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await platform?.stop();
  process.exit(0);
}

process.on('message', (request: HostRequest) => {
  if (request.type === 'stop') {
    void shutdown();
    return;
  }
  start(request.options).then(
    async (running) => {
      platform = running;
      await reply({ type: 'ready', gatewayUrl: running.gatewayUrl, subgraphUrls: running.subgraphUrls });
    },
    async (error: unknown) => {
      await reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
      process.exit(1);
    },
  );
});
process.on('disconnect', () => void shutdown());
