import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const tsxLoader = import.meta.resolve('tsx');

/**
 * Starts an entry of this repo as its own Node process, with exactly `env`: a TypeScript one
 * through tsx, or a compiled one (`dist/….js`, from `npm run build`) as production runs it.
 */
export function spawnEntry(entry: string, options: { env: Record<string, string>; cwd?: string; args?: string[] }): ChildProcess {
  const loader = entry.endsWith('.ts') ? ['--import', tsxLoader] : [];
  return spawn(process.execPath, [...loader, `${repoRoot}${entry}`, ...(options.args ?? [])], {
    cwd: options.cwd ?? repoRoot,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs an entry to completion; its exit code and everything it printed. */
export async function runEntry(
  entry: string,
  options: { env: Record<string, string>; cwd?: string; args?: string[] },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnEntry(entry, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

/** The minimum environment a child needs; nothing of this process's configuration leaks in. */
export const bareEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' });
