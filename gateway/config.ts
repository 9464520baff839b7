import { z } from 'zod';
import { ConfigError, env, flagsToEnv, parseEnv } from '../lib/config.js';

const subgraphUrls = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const urls: Record<string, string> = {};
    for (const entry of value.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [name, url] = entry.split(/=(.*)/s, 2);
      if (!name || !url || !z.url().safeParse(url).success) {
        ctx.addIssue({ code: 'custom', message: `expected name=url pairs separated by commas, got "${entry}"` });
        return z.NEVER;
      }
      urls[name] = url;
    }
    return urls;
  });

export const gatewayEnvSchema = z.object({
  NODE_ENV: env.nodeEnv(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: env.port(4000),
  LOG_LEVEL: env.logLevel(),
  /** A composed supergraph SDL file. Takes precedence over SUPERGRAPH_CONFIG. */
  SUPERGRAPH: z.string().min(1).optional(),
  /** A rover-format supergraph.yaml, composed at start-up when SUPERGRAPH is unset. */
  SUPERGRAPH_CONFIG: z.string().min(1).default('supergraph.yaml'),
  /** Routing URL overrides, `users=http://users:4001/graphql,usage=…`. */
  SUBGRAPH_URLS: subgraphUrls,
  /** @default 10_000 // 10 s: a subgraph slower than this counts as unavailable for the request. */
  SUBGRAPH_TIMEOUT_MS: env.positiveInt(10_000),
  /** @default 1_000 // 1 s: /health reports a subgraph down when its probe takes longer. */
  HEALTH_PROBE_TIMEOUT_MS: env.positiveInt(1_000),
  /** @default 10_000 // 10 s to finish in-flight requests after SIGTERM. */
  SHUTDOWN_GRACE_MS: env.positiveInt(10_000),
});

export type GatewayConfig = z.output<typeof gatewayEnvSchema>;

/** Environment variables, overridden by command-line flags (`--supergraph FILE --port N`). */
export function loadGatewayConfig(environment: Record<string, string | undefined>, argv: string[] = []): GatewayConfig {
  const flags = flagsToEnv(argv);
  const known = new Set(Object.keys(gatewayEnvSchema.shape));
  for (const name of Object.keys(flags)) {
    if (!known.has(name)) throw new ConfigError(`unknown flag --${name.toLowerCase().replaceAll('_', '-')}`);
  }
  return parseEnv(gatewayEnvSchema, { ...environment, ...flags });
}
