import { z } from 'zod';

/**
 * A configuration value that failed validation. Its message is one line naming the variable,
 * so `runMain` can print it and exit without a stack trace.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses `env` (normally `process.env`) with a zod object schema whose keys are the variable
 * names. Called once per process by its config module; nothing else reads the environment.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = issue.path.join('.') || '(environment)';
  const received = env[String(issue.path[0])];
  const shown = received === undefined ? 'unset' : JSON.stringify(received.length > 60 ? `${received.slice(0, 60)}…` : received);
  throw new ConfigError(`invalid configuration: ${variable}: ${issue.message} (got ${shown})`);
}

/** Reusable field types: each converts the string form of an environment variable. */
export const env = {
  port: (defaultPort: number) => z.coerce.number().int().min(0).max(65535).default(defaultPort),
  positiveInt: (defaultValue: number) => z.coerce.number().int().positive().default(defaultValue),
  url: () => z.url(),
  optionalUrl: () =>
    z.preprocess((v) => (v === '' ? undefined : v), z.url().optional()),
  bool: (defaultValue: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(defaultValue ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  nodeEnv: () => z.enum(['development', 'production', 'test']).default('development'),
  /** `max/seconds`, e.g. `5/300` = at most 5 in any 300 s window. */
  rateLimit: (defaultValue: string) =>
    z
      .string()
      .default(defaultValue)
      .transform((value, ctx) => {
        const match = /^(\d+)\/(\d+)$/.exec(value);
        if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
          ctx.addIssue({ code: 'custom', message: 'expected max/seconds, e.g. 5/300' });
          return z.NEVER;
        }
        return { max: Number(match[1]), windowSeconds: Number(match[2]) };
      }),
};

/** Reads `--name value` and `--name=value` flags into an env-style record (`--supergraph` → `SUPERGRAPH`). */
export function flagsToEnv(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`invalid argument: ${arg} (flags look like --name value)`);
    const [rawName, inlineValue] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const value = inlineValue ?? argv[++i];
    if (value === undefined) throw new ConfigError(`invalid argument: --${rawName} needs a value`);
    out[rawName.replaceAll('-', '_').toUpperCase()] = value;
  }
  return out;
}
