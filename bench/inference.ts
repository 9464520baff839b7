import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { type Client, createClient } from 'graphql-ws';
import { WebSocket } from 'ws';

import type { FakeOpenAi } from '../test/fake-openai.js';
import type { WorkerConfig } from '../worker/config.js';
import { type GatewayProcess, startGatewayProcess } from './lib/gateway-process.js';
import { postGraphQL } from './lib/graphql.js';
import { median, percentileOfSorted } from './lib/stats.js';
import type { BenchContext } from './scenarios.js';

/**
 * The inference benchmark (issue: "platform overhead on time to first token, client-observed
 * TTFT minus backend TTFT, target under 5 ms p50; tokens/s through the gateway against a fast
 * local OpenAI-compatible server; 1,000 concurrent streams on one gateway"). The platform's
 * worker runs the `openai` backend against `test/fake-openai.ts`, started in this process,
 * which notes when each request arrived and when it sent its first token.
 *
 * 1. TTFT: `ttftJobs` jobs of each flow one after another, the two flows taking turns (after
 *    `WARMUP_JOBS` unmeasured): `runInference` over graphql-ws (submit and stream in one
 *    operation, with an idempotency key as a client that may retry sends it), and the two-step
 *    flow, `submitInference` over HTTP then `inferenceEvents(jobId)` over graphql-ws. Client
 *    TTFT = first token event received − the first request sent; backend TTFT = the server's
 *    first token − its request's arrival; overhead = the difference (gateway, submission, job
 *    row, queue, worker, token stream, subgraph, client). The target is for `runInference`.
 * 2. Throughput: one job of `throughputTokens` tokens from the server at full speed; tokens
 *    per second as the client receives them (first to last token).
 * 3. Concurrency: `streams` jobs submitted together (paced at `streamPaceMs` a token by the
 *    server, so they overlap), each streamed over `sockets` multiplexed graphql-ws connections;
 *    every stream must deliver indexes 0…n−1 once each and end `completed`.
 */
export interface InferenceSettings {
  ttftJobs: number;
  throughputTokens: number;
  streams: number;
  streamTokens: number;
  streamPaceMs: number;
  sockets: number;
}

/** One flow's time to first token over the measured jobs. */
export interface TtftFigures {
  clientP50Ms: number;
  backendP50Ms: number;
  overheadP50Ms: number;
  overheadP99Ms: number;
}

export interface InferenceResult {
  settings: InferenceSettings;
  ttft: { run: TtftFigures; twoStep: TtftFigures & { submitP50Ms: number }; targetP50Ms: number };
  throughput: { tokens: number; tokensPerSecond: number };
  concurrent: { completed: number; peakOpen: number; seconds: number; tokensPerSecond: number; submitSeconds: number };
  failures: { errors: number; badStreams: number; firstProblem: string | null };
}

/** The model the platform's reference data has; the worker maps it to the local server. */
const MODEL = 'lotabots-tiny-cpu';
const WARMUP_JOBS = 5;
/** @default 5 // ms: the target for the platform's share of time to first token (p50) */
const TARGET_OVERHEAD_P50_MS = 5;

const SUBMIT = 'mutation Submit($input: SubmitInferenceInput!) { submitInference(input: $input) { id } }';
const EVENT_FIELDS = '__typename seq ... on InferenceTokenEvent { index } ... on InferenceFailedEvent { code message }';
const EVENTS = `subscription Events($jobId: ID!) { inferenceEvents(jobId: $jobId) { ${EVENT_FIELDS} } }`;
const RUN = `subscription Run($input: SubmitInferenceInput!, $idempotencyKey: String) { runInference(input: $input, idempotencyKey: $idempotencyKey) { ${EVENT_FIELDS} } }`;

type Operation = { query: string; variables: Record<string, unknown>; field: 'inferenceEvents' | 'runInference' };
const eventsOf = (jobId: string): Operation => ({ query: EVENTS, variables: { jobId }, field: 'inferenceEvents' });

/** Worker and inference-subgraph settings for the benchmark platform: the openai backend against `upstream`, limits no run reaches. */
export function inferencePlatformSettings(upstream: FakeOpenAi, settings: InferenceSettings) {
  const worker: Partial<WorkerConfig> = {
    WORKER_BACKEND: 'openai',
    OPENAI_BASE_URL: upstream.baseUrl,
    OPENAI_MODEL_MAP: { [MODEL]: 'fast' },
    // Every stream runs at once, plus the TTFT and throughput jobs.
    WORKER_CONCURRENCY: settings.streams + 10,
  };
  const inference = {
    INFERENCE_MAX_ACTIVE_JOBS_PER_USER: settings.streams + 100,
    INFERENCE_MAX_QUEUE_DEPTH: settings.streams + 100,
    INFERENCE_MAX_TOKENS: Math.max(4_096, settings.throughputTokens),
    // Every request differs anyway (a nonce in each prompt); no job is answered from the cache.
    INFERENCE_CACHE_TTL_SECONDS: 0,
  };
  // One bench user opens every stream; a real population of users stays under the per-caller limit each.
  const gatewayEnv = { MAX_SUBSCRIPTIONS_PER_PRINCIPAL: String(settings.streams + 10) };
  return { worker, inference, gatewayEnv };
}

/** Upper bound of the run, for the overall time budget. */
export const inferenceBudgetSeconds = (settings: InferenceSettings) => 120 + (settings.streamTokens * settings.streamPaceMs) / 1_000;

const medianOrNaN = (values: number[]) => (values.length > 0 ? median(values) : Number.NaN);

/** One flow's client and model-server TTFTs, job by job. */
function ttftSamples() {
  const clients: number[] = [];
  const backends: number[] = [];
  const overheads: number[] = [];
  return {
    add(client: number, backend: number) {
      clients.push(client);
      backends.push(backend);
      overheads.push(client - backend);
    },
    figures(): TtftFigures {
      const sorted = [...overheads].sort((a, b) => a - b);
      return {
        clientP50Ms: medianOrNaN(clients),
        backendP50Ms: medianOrNaN(backends),
        overheadP50Ms: medianOrNaN(overheads),
        overheadP99Ms: sorted.length > 0 ? percentileOfSorted(sorted, 99) : Number.NaN,
      };
    },
  };
}
type TtftSamples = ReturnType<typeof ttftSamples>;

type Outcome = { tokens: number[]; end: string | null; firstTokenAt: number | null; lastTokenAt: number | null; problem: string | null };

/** Streams one job's events (`inferenceEvents`, or a `runInference` that submits it) until its end, noting when tokens arrive. */
function follow(client: Client, operation: Operation, onFirstEvent?: () => void): Promise<Outcome> {
  const outcome: Outcome = { tokens: [], end: null, firstTokenAt: null, lastTokenAt: null, problem: null };
  return new Promise((resolve) => {
    let first = true;
    client.subscribe(
      { query: operation.query, variables: operation.variables },
      {
        next(result) {
          if (first) onFirstEvent?.();
          first = false;
          if (result.errors) outcome.problem ??= `errors: ${JSON.stringify(result.errors)}`;
          const event = (result.data as Record<string, { __typename: string; index?: number; code?: string; message?: string } | undefined> | null | undefined)?.[operation.field];
          if (!event) return;
          if (event.__typename === 'InferenceTokenEvent') {
            const now = performance.now();
            outcome.firstTokenAt ??= now;
            outcome.lastTokenAt = now;
            outcome.tokens.push(event.index!);
          } else if (['InferenceCompletedEvent', 'InferenceFailedEvent', 'InferenceCancelledEvent'].includes(event.__typename)) {
            outcome.end = event.__typename;
            if (event.code) outcome.problem ??= `${event.code}: ${event.message}`;
          }
        },
        error(error) {
          outcome.problem ??= `subscription error: ${error instanceof Error ? error.message : JSON.stringify(error)}`;
          resolve(outcome);
        },
        complete: () => resolve(outcome),
      },
    );
  });
}

export async function measureInference(
  context: BenchContext,
  upstream: FakeOpenAi,
  settings: InferenceSettings,
  hooks: {
    log: (message: string) => void;
    addCleanup: (cleanup: () => Promise<void>) => () => void;
    /** The environment of a gateway process of its own to measure through, as deployed; null: the platform's own gateway. */
    gatewayEnv: Record<string, string> | null;
  },
): Promise<InferenceResult> {
  let gatewayUrl = context.gatewayUrl;
  let gateway: GatewayProcess | null = null;
  const removeCleanup = hooks.addCleanup(async () => {
    await gateway?.stop();
  });
  if (hooks.gatewayEnv) {
    hooks.log('inference: starting a gateway process of its own');
    gateway = await startGatewayProcess({ env: hooks.gatewayEnv });
    gatewayUrl = gateway.url;
  }
  // Valid for the whole measurement (the graphql-ws connections authenticate once, at connect).
  const token = await context.session.accessToken(600);
  const headers = { authorization: `Bearer ${token}` };
  // Connected before anything is measured and held throughout, as an app holds its socket: a
  // lazy client would close it whenever its last subscription ended, and every TTFT job would
  // then time a new WebSocket and its authentication rather than the platform's work per job.
  const clients = Array.from({ length: settings.sockets }, () =>
    createClient({ url: gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: headers, retryAttempts: 0, lazy: false }),
  );
  await Promise.all(clients.map((client) => new Promise<void>((resolve, reject) => {
    const off = [client.on('connected', () => done()), client.on('closed', (event) => done(new Error(`graphql-ws closed before it connected: ${JSON.stringify(event)}`)))];
    const done = (error?: Error) => {
      off.forEach((unsubscribe) => unsubscribe());
      if (error) reject(error);
      else resolve();
    };
  })));
  const failures: InferenceResult['failures'] = { errors: 0, badStreams: 0, firstProblem: null };
  const problem = (text: string) => {
    failures.errors++;
    failures.firstProblem ??= text;
  };
  /** The new job's id, or null (counted as a failure) when the submission failed or took over postGraphQL's 10 s. */
  const inputOf = (prompt: string, maxTokens: number) => ({ model: MODEL, prompt, maxTokens, temperature: 0.7 });
  const submit = async (prompt: string, maxTokens: number): Promise<string | null> => {
    const input = inputOf(prompt, maxTokens);
    const response = await postGraphQL(gatewayUrl, { query: SUBMIT, variables: { input } }, headers).catch((error: unknown) => {
      problem(`submitInference: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    });
    if (!response) return null;
    const id = (response.data as { submitInference?: { id: string } } | null | undefined)?.submitInference?.id;
    if (!id) problem(`submitInference: HTTP ${response.status} ${JSON.stringify(response.errors ?? null).slice(0, 300)}`);
    return id ?? null;
  };
  /** A stream is sound when it ended `completed` with indexes 0…n−1, each once. */
  const sound = (outcome: Outcome, expectedTokens: number) =>
    outcome.end === 'InferenceCompletedEvent' && outcome.tokens.length === expectedTokens && outcome.tokens.every((index, i) => index === i);
  const check = (outcome: Outcome, expectedTokens: number) => {
    if (sound(outcome, expectedTokens)) return;
    failures.badStreams++;
    failures.firstProblem ??= outcome.problem ?? `stream ended ${outcome.end ?? 'without an end'} after ${outcome.tokens.length} of ${expectedTokens} tokens`;
  };

  try {
    hooks.log(`inference: time to first token over ${settings.ttftJobs} jobs of each flow`);
    const run = ttftSamples();
    const twoStep = ttftSamples();
    const submits: number[] = [];
    /** Notes one job's figures once it is over: client TTFT from `sentAt`, the model server's from its own record. */
    const measured = (samples: TtftSamples, outcome: Outcome, nonce: string, sentAt: number) => {
      check(outcome, 8);
      const backend = upstream.requests.find((request) => request.lastMessage.includes(nonce));
      if (outcome.firstTokenAt === null || backend?.firstTokenAt == null) return false;
      samples.add(outcome.firstTokenAt - sentAt, backend.firstTokenAt - backend.receivedAt);
      return true;
    };
    for (let i = 0; i < WARMUP_JOBS + settings.ttftJobs; i++) {
      const warm = i >= WARMUP_JOBS;
      let nonce = randomUUID();
      let sentAt = performance.now();
      const variables = { input: inputOf(`time to first token ${nonce}`, 8), idempotencyKey: nonce };
      const ran = await follow(clients[0]!, { query: RUN, variables, field: 'runInference' });
      if (warm) measured(run, ran, nonce, sentAt);
      else check(ran, 8);

      nonce = randomUUID();
      sentAt = performance.now();
      const jobId = await submit(`time to first token ${nonce}`, 8);
      const answeredAt = performance.now();
      if (!jobId) continue;
      const outcome = await follow(clients[0]!, eventsOf(jobId));
      if (!warm) check(outcome, 8);
      else if (measured(twoStep, outcome, nonce, sentAt)) submits.push(answeredAt - sentAt);
    }

    hooks.log(`inference: one stream of ${settings.throughputTokens} tokens`);
    const bulkId = await submit(`throughput ${randomUUID()}`, settings.throughputTokens);
    const bulk = bulkId ? await follow(clients[0]!, eventsOf(bulkId)) : null;
    if (bulk) check(bulk, settings.throughputTokens);
    const bulkSeconds = bulk?.firstTokenAt != null && bulk.lastTokenAt != null ? (bulk.lastTokenAt - bulk.firstTokenAt) / 1_000 : Number.NaN;

    hooks.log(`inference: ${settings.streams} concurrent streams over ${settings.sockets} sockets`);
    let open = 0;
    let peakOpen = 0;
    const startedAt = performance.now();
    let submittedAt = startedAt;
    const streams: Array<Promise<Outcome | null>> = [];
    const SUBMIT_PARALLELISM = 50;
    for (let i = 0; i < settings.streams; i += SUBMIT_PARALLELISM) {
      const batch = Array.from({ length: Math.min(SUBMIT_PARALLELISM, settings.streams - i) }, (_, j) => i + j);
      const ids = await Promise.all(batch.map((n) => submit(`stream ${n} pace=${settings.streamPaceMs} ${randomUUID()}`, settings.streamTokens)));
      ids.forEach((jobId, j) => {
        if (!jobId) return streams.push(Promise.resolve(null));
        streams.push(
          follow(clients[(i + j) % clients.length]!, eventsOf(jobId), () => (peakOpen = Math.max(peakOpen, ++open))).then((outcome) => {
            open--;
            return outcome;
          }),
        );
      });
      submittedAt = performance.now();
    }
    const outcomes = await Promise.all(streams);
    const seconds = (performance.now() - startedAt) / 1_000;
    let delivered = 0;
    let completed = 0;
    for (const outcome of outcomes) {
      if (!outcome) continue;
      check(outcome, settings.streamTokens);
      delivered += outcome.tokens.length;
      if (outcome.end === 'InferenceCompletedEvent') completed++;
    }

    return {
      settings,
      ttft: { run: run.figures(), twoStep: { ...twoStep.figures(), submitP50Ms: medianOrNaN(submits) }, targetP50Ms: TARGET_OVERHEAD_P50_MS },
      throughput: { tokens: bulk?.tokens.length ?? 0, tokensPerSecond: (bulk?.tokens.length ?? 0) / bulkSeconds },
      concurrent: { completed, peakOpen, seconds, tokensPerSecond: delivered / seconds, submitSeconds: (submittedAt - startedAt) / 1_000 },
      failures,
    };
  } finally {
    await Promise.all(clients.map((client) => client.dispose()));
    await gateway?.stop();
    removeCleanup();
  }
}
