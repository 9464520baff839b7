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
  const name = String(issue.path[0]);
  // Redacted before it is shortened: a cut could otherwise split a password from its `@`.
  const received = env[name] === undefined ? undefined : redactCredentials(env[name]!);
  const shown =
    received === undefined
      ? 'unset'
      : SECRET_NAME.test(name)
        ? 'a value, not shown'
        : JSON.stringify(received.length > 60 ? `${received.slice(0, 60)}…` : received);
  throw new ConfigError(redactCredentials(`invalid configuration: ${variable}: ${issue.message} (got ${shown})`));
}

/**
 * Variables whose value is a secret as a whole: never echoed, not even in part. A Slack
 * webhook URL is one (its path is the credential: whoever has it can post).
 */
const SECRET_NAME = /SECRET|KEY|PASSWORD|TOKEN|PRIVATE|SLACK_WEBHOOK_URL/i;

/**
 * Replaces the password of every `scheme://user:password@host` in `text` with `***`. Works on
 * text that does not parse as a URL (a malformed DATABASE_URL still carries its password).
 */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@"]*:)[^\s@"]*@/gi, '$1***@');
}

/**
 * A zod `superRefine` that requires `names` when `NODE_ENV` is production: outside production
 * an unset DATABASE_URL or REDIS_URL means the embedded stand-ins (PGlite, an in-process Redis),
 * which would silently lose data and split state between replicas in a real deployment.
 */
export function requiredInProduction(...names: string[]) {
  return (config: { NODE_ENV: string }, ctx: z.RefinementCtx) => {
    if (config.NODE_ENV !== 'production') return;
    for (const name of names) {
      if ((config as Record<string, unknown>)[name] === undefined) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'required when NODE_ENV=production (the embedded stand-in is for development only)' });
      }
    }
  };
}

/**
 * SHUTDOWN_DRAIN_DELAY_MS as configured, else 5 s in production (the few seconds Kubernetes
 * takes to take a terminating pod out of every Service's endpoints; see `DrainOptions.delayMs`)
 * and 0 elsewhere, so a developer's Ctrl-C stops at once.
 */
export function drainDelayMs(config: { NODE_ENV: string; SHUTDOWN_DRAIN_DELAY_MS?: number | undefined }): number {
  return config.SHUTDOWN_DRAIN_DELAY_MS ?? (config.NODE_ENV === 'production' ? 5_000 : 0);
}

/** Reusable field types: each converts the string form of an environment variable. */
export const env = {
  port: (defaultPort: number) => z.coerce.number().int().min(0).max(65535).default(defaultPort),
  positiveInt: (defaultValue: number) => z.coerce.number().int().positive().default(defaultValue),
  /** Milliseconds, 0 allowed; unset stays undefined so the caller can pick a default by context. */
  optionalMs: () => z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(0).max(600_000).optional()),
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
  /** A JSON value checked by `schema`; `expected` says what a malformed one should have been. */
  json: <T>(schema: z.ZodType<T>, defaultJson: string, expected: string) =>
    z
      .string()
      .default(defaultJson)
      .transform((value, ctx) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          ctx.addIssue({ code: 'custom', message: `expected ${expected}` });
          return z.NEVER;
        }
        const result = schema.safeParse(parsed);
        if (!result.success) {
          const issue = result.error.issues[0]!;
          ctx.addIssue({ code: 'custom', message: `${issue.path.join('.')}: ${issue.message}` });
          return z.NEVER;
        }
        return result.data;
      }),
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
