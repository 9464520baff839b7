/**
 * Entry of the benchmark's platform process (forked by `startBenchPlatform`): waits for a
 * `start` message, runs `startPlatform` with its options and replies `ready` with the URLs.
 * On a `stop` message, or when the parent goes away (the IPC channel closes), it stops the
 * platform and exits, so an interrupted benchmark leaves no process behind.
 */
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { startPlatform, type PlatformSecrets, type RunningPlatform } from '../../embedded/platform.js';
import { ACCESS_TOKEN_ALG, loadIdentitySecret, loadSigningKeys } from '../../lib/auth/keys.js';
import type { HostPlatformOptions, HostReply, HostRequest } from './platform.js';

let platform: RunningPlatform | undefined;
let stopping = false;

function reply(message: HostReply): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

/** The run's identity secret, and a throwaway access-token key pair that never touches disk. */
async function secretsFor(identitySecret: string): Promise<PlatformSecrets> {
  const pair = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
  const source = { devKeyDir: '', production: false };
  return {
    identitySecret: await loadIdentitySecret({ ...source, secret: identitySecret }),
    signingKeys: await loadSigningKeys(
      { ...source, privateKeyPem: await exportPKCS8(pair.privateKey), publicKeyPem: await exportSPKI(pair.publicKey), keyId: 'bench' },
      true,
    ),
  };
}

async function start({ identitySecret, ...options }: HostPlatformOptions): Promise<RunningPlatform> {
  return startPlatform({ ...options, secrets: await secretsFor(identitySecret) });
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
