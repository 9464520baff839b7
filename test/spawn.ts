import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const tsxLoader = import.meta.resolve('tsx');

/**
 * Starts an entry of this repo as its own Node process, with exactly `env`: a TypeScript one
 * through tsx, or a compiled one (`dist/….js`, from `npm run build`) as production runs it.
 */
export function spawnEntry(entry: string, options: { env: Record<string, string>; cwd?: string; args?: string[]; stdin?: 'pipe' }): ChildProcess {
  const loader = entry.endsWith('.ts') ? ['--import', tsxLoader] : [];
  return spawn(process.execPath, [...loader, `${repoRoot}${entry}`, ...(options.args ?? [])], {
    cwd: options.cwd ?? repoRoot,
    env: options.env,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
}

/** Runs an entry to completion, with `input` on its stdin if given; its exit code and everything it printed. */
export async function runEntry(
  entry: string,
  options: { env: Record<string, string>; cwd?: string; args?: string[]; input?: string },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnEntry(entry, { ...options, ...(options.input === undefined ? {} : { stdin: 'pipe' as const }) });
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

/** The minimum environment a child needs; nothing of this process's configuration leaks in. */
export const bareEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' });

/** Every port of `npm start` set to 0 (free ones, so parallel test files never collide). */
export const freeEmbeddedPorts = (): Record<string, string> =>
  Object.fromEntries(['GATEWAY_PORT', 'USERS_PORT', 'INFERENCE_PORT', 'USAGE_PORT', 'AUTONOMY_PORT', 'WORKER_PORT', 'METRICS_PORT'].map((name) => [name, '0']));

export interface StartedEntry {
  child: ChildProcess;
  gatewayUrl: string;
  /** Everything printed so far, stdout and stderr together. */
  output(): string;
}

/**
 * Starts `npm start`'s entry (TypeScript or compiled) and resolves once it printed its gateway
 * URL and the gateway's `/ready` answers 200: readiness signals, no pause. Rejects when it
 * exits first. Start-up takes seconds, tens of seconds on a loaded machine: callers give their
 * test a generous timeout, which bounds the wait.
 */
export async function startEmbeddedEntry(entry: string, options: { env: Record<string, string>; cwd?: string }): Promise<StartedEntry> {
  const child = spawnEntry(entry, options);
  let output = '';
  try {
    const gatewayUrl = await untilReady(child, () => output, (text) => (output += text));
    return { child, gatewayUrl, output: () => output };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

async function untilReady(child: ChildProcess, output: () => string, append: (text: string) => void): Promise<string> {
  const gatewayUrl = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      append(chunk.toString());
      const match = /Gateway: (http:\/\/\S+)/.exec(output());
      if (match) resolve(match[1]!);
    });
    child.stderr!.on('data', (chunk: Buffer) => append(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`exited with ${code} before serving:\n${output()}`)));
  });
  const ready = new URL('/ready', gatewayUrl);
  while ((await fetch(ready).then((response) => response.status, () => 0)) !== 200) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before ready:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return gatewayUrl;
}
