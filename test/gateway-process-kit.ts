import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { composeSupergraph } from '../lib/compose.js';
import type { AdHocSubgraph } from './gateway-kit.js';
import { bareEnv, spawnEntry } from './spawn.js';

export interface GatewayProcess {
  child: ReturnType<typeof spawnEntry>;
  /** `http://127.0.0.1:<port>` of the GraphQL port (`/graphql`, `/health`, `/ready`). */
  base: string;
  /** `http://127.0.0.1:<metrics port>/metrics`. */
  metricsUrl: string;
  /** Everything it printed so far (pino JSON lines on stdout, the signal line on stderr). */
  output(): string;
  /** Resolves once `pattern` appears in its output. */
  printed(pattern: RegExp): Promise<void>;
  exitCode: Promise<number | null>;
  /** SIGKILL if still running, and removes its working folder. */
  dispose(): Promise<void>;
}

/**
 * `gateway/main.ts` as its own process over ad-hoc subgraphs (composed into a supergraph file),
 * on ephemeral GraphQL and metrics ports, with `env` over a bare environment.
 */
export async function spawnGateway(subgraphs: AdHocSubgraph[], env: Record<string, string> = {}): Promise<GatewayProcess> {
  const workdir = await mkdtemp(path.join(tmpdir(), 'lotabots-gateway-process-'));
  const supergraph = path.join(workdir, 'supergraph.graphql');
  await writeFile(supergraph, composeSupergraph(subgraphs.map(({ name, url, typeDefs }) => ({ name, url, typeDefs }))));
  const child = spawnEntry('gateway/main.ts', {
    cwd: workdir,
    args: ['--supergraph', supergraph, '--port', '0'],
    env: { ...bareEnv(), DEV_KEY_DIR: path.join(workdir, 'keys'), METRICS_PORT: '0', ...env },
  });
  let output = '';
  const waiters = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const check of waiters) check();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exitCode = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const printed = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(output)) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
      void exitCode.then((code) => {
        if (waiters.delete(check)) reject(new Error(`gateway exited with ${code} before printing ${pattern}:\n${output}`));
      });
    });
  const dispose = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(workdir, { recursive: true, force: true });
  };
  try {
    await printed(/gateway metrics on http:\/\/\S+\/metrics/);
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    child,
    base: /gateway listening on (http:\/\/\S+?)\/graphql/.exec(output)![1]!,
    metricsUrl: /gateway metrics on (http:\/\/\S+\/metrics)/.exec(output)![1]!,
    output: () => output,
    printed,
    exitCode,
    dispose,
  };
}
