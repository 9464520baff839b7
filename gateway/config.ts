import { z } from 'zod';

import { DEFAULT_GATEWAY_MAX_REQUEST_BODY_BYTES } from '../lib/body-limit.js';
import { ConfigError, env, flagsToEnv, parseEnv, requiredInProduction } from '../lib/config.js';
import { CLIENT_DOCUMENT_LIMITS, documentLimitsEnv } from '../lib/graphql-limits.js';
import { DEFAULT_METRICS_MAX_OPERATION_NAMES } from '../lib/metrics.js';
import { tracingEnv } from '../lib/tracing/config.js';
import { oidcIssuerSchema } from './auth/oidc.js';
import { costPlanSchema } from './cost/plans.js';
import { DEFAULT_RATE_LIMIT_PLANS, rateLimitPlansSchema } from './rate-limit/plans.js';

/** A JSON setting checked by `schema`; `expected` says what it should look like. */
const oidcIssuers = env.json(z.array(oidcIssuerSchema), '[]', 'a JSON array of {issuer, jwksUri, audience, …}');

/** Per plan tier, JSON: {"free": {"bucketSize", "restorePerSecond", "requestsPerWindow", "windowSeconds"}, …}. */
const rateLimitPlans = env.json(
  rateLimitPlansSchema,
  JSON.stringify(DEFAULT_RATE_LIMIT_PLANS),
  'a JSON object of plan name → {bucketSize, restorePerSecond, requestsPerWindow, windowSeconds}',
);

/** `name=value,name=value`, each value checked by `valueSchema`. */
const namedValues = <T>(valueSchema: z.ZodType<T>, what: string) =>
  z
    .string()
    .default('')
    .transform((value, ctx) => {
      const entries: Record<string, T> = {};
      for (const entry of value.split(',').map((s) => s.trim()).filter(Boolean)) {
        const [name, raw] = entry.split(/=(.*)/s, 2);
        const parsed = valueSchema.safeParse(raw);
        if (!name || raw === undefined || !parsed.success) {
          ctx.addIssue({ code: 'custom', message: `expected name=${what} pairs separated by commas, got "${entry}"` });
          return z.NEVER;
        }
        entries[name] = parsed.data;
      }
      return entries;
    });

/** `https://app.example.com,https://admin.example.com` (exact origins), `*` alone, or empty. */
const corsOrigins = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const origins = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (origins.includes('*') && origins.length > 1) {
      ctx.addIssue({ code: 'custom', message: '"*" allows every origin and cannot be combined with others' });
      return z.NEVER;
    }
    for (const origin of origins) {
      if (origin !== '*' && originOf(origin) !== origin) {
        ctx.addIssue({ code: 'custom', message: `expected origins like https://app.example.com (scheme, host, port; no path or slash), got "${origin}"` });
        return z.NEVER;
      }
    }
    return origins;
  });

const originOf = (value: string) => (URL.canParse(value) ? new URL(value).origin : null);

/** Unset: the default that depends on NODE_ENV (see where it is read). */
const optionalBool = () => z.enum(['true', 'false']).optional().transform((v) => (v === undefined ? undefined : v === 'true'));

export const gatewayEnvSchema = z.object({
  NODE_ENV: env.nodeEnv(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: env.port(4000),
  LOG_LEVEL: env.logLevel(),
  /** @default true // one line per GraphQL HTTP request (gateway/access-log/); request ids are returned either way. */
  ACCESS_LOG: env.bool(true),
  /** @default 'info' // the level access-log lines are written at (below LOG_LEVEL they are dropped). */
  ACCESS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** A composed supergraph SDL file. Takes precedence over SUPERGRAPH_CONFIG. */
  SUPERGRAPH: z.string().min(1).optional(),
  /** A rover-format supergraph.yaml, composed at start-up when SUPERGRAPH is unset. */
  SUPERGRAPH_CONFIG: z.string().min(1).default('supergraph.yaml'),
  /** Routing URL overrides, `users=http://users:4001/graphql,usage=…`. */
  SUBGRAPH_URLS: namedValues(z.url(), 'url'),
  /**
   * @default 'native' // the gateway's own plan executor (gateway/engine/native/), several times
   * faster than `@apollo/gateway`'s with the same answers; `apollo` runs `@apollo/gateway`'s.
   */
  GATEWAY_ENGINE: z.enum(['native', 'apollo']).default('native'),
  /** @default 1024 // parsed documents whose query plans and compiled projections the engine keeps (least recently used dropped). */
  ENGINE_PLAN_CACHE_SIZE: env.positiveInt(1024),
  /** Upstream transport for subscriptions per subgraph, `usage=sse,inference=ws`; default ws. */
  SUBGRAPH_SUBSCRIPTION_PROTOCOLS: namedValues(z.enum(['ws', 'sse']), '(ws|sse)'),
  /** @default 100 // open subscriptions per caller on one gateway process (a dashboard needs a few). */
  MAX_SUBSCRIPTIONS_PER_PRINCIPAL: env.positiveInt(100),
  /** @default 20_000 // open subscriptions per gateway process (about 20 KB each). */
  MAX_SUBSCRIPTIONS: env.positiveInt(20_000),
  /** @default 86_400 // 24 h, after which a subscription ends with SUBSCRIPTION_EXPIRED and the client resubscribes. */
  SUBSCRIPTION_MAX_LIFETIME_SECONDS: env.positiveInt(86_400),
  /** @default 12_000 // 12 s between keep-alive pings on WebSockets, to clients and to subgraphs. */
  SUBSCRIPTION_KEEPALIVE_MS: env.positiveInt(12_000),
  /** @default 5_000 // 5 s between `{}` heartbeat parts on multipart subscriptions (Apollo Router's value). */
  MULTIPART_HEARTBEAT_MS: env.positiveInt(5_000),
  /**
   * @default 'platformMetrics' // root subscription fields whose events are snapshots of state
   * (the latest replaces the previous): a subscriber joining a shared upstream gets the latest
   * at once. Never an event stream such as usageLive, where a replay would repeat an old event.
   */
  SUBSCRIPTION_SNAPSHOT_FIELDS: z
    .string()
    .default('platformMetrics')
    .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((names) => names.every((name) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(name)), 'expected GraphQL field names separated by commas'),
  /**
   * Root subscription fields whose streams resume from an argument (a log read from `after`,
   * such as inferenceEvents) or start something of their own (runInference submits a job):
   * each subscription gets an upstream of its own, never a shared one, whose events before the
   * joiner arrived it would miss (or whose job would be one for two callers).
   */
  SUBSCRIPTION_RESUMABLE_FIELDS: z
    .string()
    .default('inferenceEvents,runInference')
    .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((names) => names.every((name) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(name)), 'expected GraphQL field names separated by commas'),
  /** @default 1_000 // events a slow client may fall behind before its subscription is ended. */
  SUBSCRIPTION_MAX_QUEUED_EVENTS: env.positiveInt(1_000),
  /** @default 10_000 // 10 s: a subgraph slower than this counts as unavailable for the request. */
  SUBGRAPH_TIMEOUT_MS: env.positiveInt(10_000),
  /**
   * @default 64 // keep-alive connections per subgraph: enough that 50 concurrent clients'
   * fetches (a few per subgraph each) rarely queue, few enough for a subgraph's accept backlog.
   */
  SUBGRAPH_CONNECTIONS: env.positiveInt(64),
  /**
   * @default true // identical subgraph queries in flight at once (same subgraph, document,
   * variables and identity) share one request; mutations never. See gateway/upstream/.
   */
  SUBGRAPH_DEDUPLICATION: env.bool(true),
  /**
   * @default false // identical queries in flight at once from the same principal share one
   * execution (each is still checked, charged and logged on its own). Off by default: see the
   * README, "Inbound de-duplication". See gateway/inbound-dedup/.
   */
  INBOUND_DEDUPLICATION: env.bool(false),
  /** @default 1_000 // 1 s: /health/subgraphs reports a subgraph down, and /ready Redis down, past this. */
  HEALTH_PROBE_TIMEOUT_MS: env.positiveInt(1_000),
  /** @default 10_000 // 10 s to finish in-flight requests after SIGTERM. */
  SHUTDOWN_GRACE_MS: env.positiveInt(10_000),
  /** Time `/ready` answers 503 while still serving after SIGTERM; see lib/config.ts drainDelayMs. */
  SHUTDOWN_DRAIN_DELAY_MS: env.optionalMs(),
  /** @default 9_400 // `/metrics` only here, never on the public GraphQL port. */
  METRICS_PORT: env.port(9_400),
  /** @default 5_000 // 5 s: `/health/subgraphs` probes each subgraph at most once per this, however often it is called. */
  HEALTH_SUBGRAPHS_CACHE_MS: env.positiveInt(5_000),
  /** @default 3_000 // 3 s for a WebSocket client to send connection_init before it is closed (4408). */
  CONNECTION_INIT_TIMEOUT_MS: env.positiveInt(3_000),
  /** Redis for revoked sessions and the API key cache; unset: an in-process stand-in. */
  REDIS_URL: env.optionalUrl(),
  REDIS_KEY_PREFIX: z.string().default('lotabots:'),
  /** Shared with the subgraphs; signs the identity header. Generated into DEV_KEY_DIR outside production. */
  IDENTITY_SIGNING_SECRET: z.string().optional(),
  /** SPKI PEM of the key that verifies access tokens (the users subgraph's JWT_PRIVATE_KEY pair). */
  JWT_PUBLIC_KEY: z.string().optional(),
  /** `kid` the access tokens must carry: the users subgraph's JWT_KEY_ID (unset: `lotabots-1`, or the generated development key's). */
  JWT_KEY_ID: z.string().min(1).optional(),
  /** @default 900 // s: the users subgraph's ACCESS_TOKEN_TTL_SECONDS; a token whose exp − iat is longer is refused. */
  ACCESS_TOKEN_MAX_TTL_SECONDS: env.positiveInt(900),
  DEV_KEY_DIR: z.string().min(1).default('.keys'),
  /** Outside issuers whose JWTs are accepted, as JSON: [{"issuer","jwksUri","audience","scopeClaim"?,"rolesClaim"?,"plan"?,"algorithms"?}]. */
  OIDC_ISSUERS: oidcIssuers,
  /** @default 30_000 // 30 s: at most one JWKS refetch per issuer per this, whatever kids clients invent. */
  OIDC_JWKS_COOLDOWN_MS: env.positiveInt(30_000),
  /** @default 600_000 // 10 min before a cached JWKS is refetched. */
  OIDC_JWKS_MAX_AGE_MS: env.positiveInt(600_000),
  /** The subgraph that owns API keys (answers `_apiKeyPrincipal`). */
  API_KEY_SUBGRAPH: z.string().default('users'),
  /** @default 60 // s: how stale a key's scopes may be; revocation clears it at once. */
  API_KEY_CACHE_SECONDS: env.positiveInt(60),
  /** @default 10 // s an unknown key is remembered, so guessing is cheap for us. */
  API_KEY_NEGATIVE_CACHE_SECONDS: env.positiveInt(10),
  /**
   * @default 1_000 // ms Redis' "not revoked" for a session is kept while revocation notices
   * are heard (a notice ends it at once); it bounds how late a revocation whose notice was lost
   * takes effect. 0: every request reads Redis.
   */
  SESSION_CHECK_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  /** Proxies in front of the gateway whose X-Forwarded-For entries are trusted (0: use the socket address). */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  /** Largest, most tokens, deepest nesting of a client's document (GRAPHQL_PARSE_FAILED beyond); see lib/graphql-limits.ts. */
  ...documentLimitsEnv(CLIENT_DOCUMENT_LIMITS),
  /** Distinct operation names labelled in the metrics; the rest are `unknown` (see lib/metrics.ts). */
  METRICS_MAX_OPERATION_NAMES: z.coerce.number().int().min(0).default(DEFAULT_METRICS_MAX_OPERATION_NAMES),
  /**
   * @default '20/60' // failed credentials (bad JWTs, unknown API keys) per client IP per 60 s;
   * beyond, every credentialed request from that IP gets RATE_LIMITED (HTTP 429) until the
   * window ends, before any key lookup.
   */
  AUTH_FAILURE_LIMIT_PER_IP: env.rateLimit('20/60'),
  /**
   * @default 60_000 // 60 s: how long the gateway trusts a user's cached plan tier or the plan
   * catalogue without a change notice (gateway/plans/). Notices apply changes at once; this
   * only bounds staleness after a notice lost with a dropped Redis subscriber connection.
   */
  PLAN_CACHE_TTL_MS: env.positiveInt(60_000),
  /** Origins whose pages may call the API from a browser; empty: same-origin only (no CORS headers). */
  CORS_ORIGINS: corsOrigins,
  /** Largest request body accepted (413 REQUEST_TOO_LARGE beyond), see DEFAULT_GATEWAY_MAX_REQUEST_BODY_BYTES. */
  MAX_REQUEST_BODY_BYTES: env.positiveInt(DEFAULT_GATEWAY_MAX_REQUEST_BODY_BYTES),
  /** @default 0 // no Strict-Transport-Security header; set (e.g. 31_536_000, a year) once the gateway is only reached over HTTPS. */
  HSTS_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(0),
  /** Introspection for everyone; unset: on outside production, and in production only for the `schema:read` scope. */
  INTROSPECTION: optionalBool(),
  /** @default 'token-bucket' // cost per caller over time; 'sliding-window' counts requests per window instead. */
  RATE_LIMIT_ALGORITHM: z.enum(['token-bucket', 'sliding-window']).default('token-bucket'),
  /**
   * @default 'open' // while Redis does not answer, each process limits from an in-process
   * bucket (availability over exactness: the limit is then per process); 'closed' refuses
   * with SERVICE_UNAVAILABLE (503).
   */
  RATE_LIMIT_REDIS_FAILURE: z.enum(['open', 'closed']).default('open'),
  /** Bucket and window sizes per plan tier (JSON, see gateway/rate-limit/plans.ts); a `free` entry is required. */
  RATE_LIMIT_PLANS: rateLimitPlans,
  /**
   * @default 0 // every take is a Redis round trip. Above 0, a caller back within this many ms
   * gets tokens leased to this process (at most 1 % of its bucket, for this long), and its next
   * takes here spend them without a round trip (gateway/rate-limit/redis-budget.ts, `Lease`).
   */
  RATE_LIMIT_LEASE_MS: z.coerce.number().int().min(0).max(10_000).default(0),
  /** "Did you mean …?" hints in errors; unset: on outside production, off in production. */
  GRAPHQL_SUGGESTIONS: optionalBool(),
  /**
   * 'enforce': partner API keys run only trusted documents (PERSISTED_QUERY_NOT_ALLOWED
   * otherwise); 'log-only' logs what would be refused and runs it; 'off' turns the rule off
   * (APQ and documentId still resolve). @default enforce // everywhere: log-only is a rollout
   * setting chosen explicitly, never a development default that hides a refusal until production.
   * See gateway/persisted-queries/.
   */
  PERSISTED_QUERIES_MODE: z.enum(['enforce', 'log-only', 'off']).default('enforce'),
  /** The trusted documents (Apollo's persisted query list), written by `npm run codegen`; reloaded when it changes. */
  PERSISTED_DOCUMENTS_FILE: z.string().min(1).default('clients/persisted-documents.json'),
  /** @default true // first-party tokens (LotaBots and OIDC JWTs) may run documents outside the manifest. */
  PERSISTED_QUERIES_ALLOW_ARBITRARY_FOR_TOKENS: env.bool(true),
  /** @default true // anonymous callers (the web apps before sign-in) may run documents outside the manifest. */
  PERSISTED_QUERIES_ALLOW_ARBITRARY_ANONYMOUS: env.bool(true),
  /** @default 86_400 // s an automatic persisted query (APQ) stays registered in Redis after its last registration. */
  APQ_TTL_SECONDS: env.positiveInt(86_400),
  /** @default 60 // s of `Cache-Control: public, max-age` on anonymous GET answers of persisted queries. */
  PERSISTED_QUERIES_GET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(60),
  /** Cost budget and per-operation cost ceiling per plan tier, JSON merged over the defaults (see gateway/cost/plans.ts). */
  COST_PLANS: costPlanSchema,
  /**
   * 'off' does not install the cost plugin (no pricing, no budget charge, no extensions.cost):
   * for measuring what it costs (`npm run bench`) and for emergencies. @default on
   */
  COST_LIMITS: z.enum(['on', 'off']).default('on'),
  /** Deepest field nesting of an operation (root fields are depth 1); DEPTH_LIMIT_EXCEEDED beyond. */
  MAX_OPERATION_DEPTH: env.positiveInt(15),
  /** Most aliases in an operation, fragments expanded; ALIAS_LIMIT_EXCEEDED beyond. */
  MAX_OPERATION_ALIASES: env.positiveInt(30),
  /** Most root fields in an operation, fragments expanded; ROOT_FIELD_LIMIT_EXCEEDED beyond. */
  MAX_OPERATION_ROOT_FIELDS: env.positiveInt(20),
  /** Most directives on one field; DIRECTIVE_LIMIT_EXCEEDED beyond. */
  MAX_DIRECTIVES_PER_FIELD: env.positiveInt(5),
  /** OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT …), off unless an endpoint is set; see lib/tracing and gateway/tracing. */
  ...tracingEnv,
}).superRefine(requiredInProduction('REDIS_URL'));

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
