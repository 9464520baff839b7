import { randomUUID } from 'node:crypto';

import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';

import { tracingEnv } from '../lib/tracing/config.js';
import { type FakeOpenAi, startFakeOpenAi } from './fake-openai.js';
import { startTestPlatform, type TestPlatform } from './kit.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';

const SUBMIT = /* GraphQL */ `
  mutation Submit($input: SubmitInferenceInput!) {
    submitInference(input: $input) { id status }
  }
`;
const JOB = /* GraphQL */ `
  query Job($id: ID!) {
    inferenceJob(id: $id) { status }
  }
`;
const EVENTS = /* GraphQL */ `
  subscription Events($jobId: ID!) {
    inferenceEvents(jobId: $jobId) { __typename seq }
  }
`;

const PROMPT = 'A secret prompt about the lighthouse keeper';
const MODEL_MAP = { 'fake-fast': 'fast' };
const openAiWorker = (upstream: FakeOpenAi) => ({ WORKER_BACKEND: 'openai' as const, OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL_MAP: MODEL_MAP, WORKER_SHUTDOWN_GRACE_MS: 0 });
const traceIdOf = (traceparent: string | undefined) => traceparent?.split('-')[1];

/** The platform with the fake model server behind its worker, and one user's Authorization header. */
async function startInferencePlatform(upstream: FakeOpenAi, tracing?: Record<string, string>) {
  const platform = await startTestPlatform({ worker: openAiWorker(upstream), tracing: tracing && z.object(tracingEnv).parse(tracing) });
  await platform.db.query(`INSERT INTO inference."Model" (id, "displayName", backend, "contextWindow") VALUES ('fake-fast', 'fake-fast', 'openai', 8192)`);
  const authorization = `Bearer ${await platform.tokenFor(randomUUID())}`;
  return { platform, authorization };
}

/** Submits a job through the gateway and waits until the lifecycle consumer marks it SUCCEEDED. */
async function runJobThroughGateway(platform: TestPlatform, authorization: string): Promise<string> {
  const submitted = await platform.query(SUBMIT, { input: { model: 'fake-fast', prompt: PROMPT, maxTokens: 3 } }, { authorization });
  expect(submitted.body.errors).toBeUndefined();
  const jobId = (submitted.body.data!.submitInference as { id: string }).id;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { body } = await platform.query(JOB, { id: jobId }, { authorization });
    if (body.data?.inferenceJob?.status === 'SUCCEEDED') return jobId;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not succeed: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('tracing on: one trace from the gateway to the model server', () => {
  let receiver: OtlpReceiver;
  let upstream: FakeOpenAi;
  let platform: TestPlatform;
  let authorization: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    upstream = await startFakeOpenAi({ tokenCount: 3 });
    ({ platform, authorization } = await startInferencePlatform(upstream, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }));
  });
  afterAll(async () => {
    await platform?.stop();
    await upstream?.close();
    await receiver?.close();
  });

  /** Flushes every service's spans until `done` holds for those of `traceId`; fails after 60 s with what arrived. */
  const spansOfTrace = async (traceId: string, done: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      await platform.flushTraces();
      const spans = receiver.spans.filter((span) => span.traceId === traceId);
      if (done(spans)) return spans;
      if (Date.now() > deadline) throw new Error(`trace ${traceId} incomplete: ${spans.map((span) => `${span.service}/${span.name}`).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const named = (spans: ReceivedSpan[], service: string, name: string) => spans.filter((span) => span.service === service && span.name === name);
  const parentOf = (spans: ReceivedSpan[], span: ReceivedSpan) => spans.find((candidate) => candidate.spanId === span.parentSpanId);

  it('an inference request is one trace: gateway → inference subgraph → worker → the backend call', { timeout: 180_000 }, async () => {
    const jobId = await runJobThroughGateway(platform, authorization);
    const backendCall = upstream.requests.find((request) => request.lastMessage === PROMPT)!;
    const traceId = traceIdOf(backendCall.traceparent)!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    const spans = await spansOfTrace(
      traceId,
      (found) => named(found, 'lotabots-worker', 'inference.job').length > 0 && named(found, 'lotabots-inference', 'POST /graphql').length > 0 && named(found, 'lotabots-gateway', 'POST /graphql').length > 0,
    );
    // The gateway started the trace: its request span is the root, with the operation named.
    const [request] = named(spans, 'lotabots-gateway', 'POST /graphql');
    expect(request!.parentSpanId).toBe('');
    expect(request!.attributes).toMatchObject({ 'graphql.operation.name': 'Submit', 'graphql.operation.type': 'mutation', 'http.response.status_code': 200 });
    for (const phase of ['graphql.parse', 'graphql.validate', 'graphql.execute']) expect(parentOf(spans, named(spans, 'lotabots-gateway', phase)[0]!)).toBe(request);
    const execute = named(spans, 'lotabots-gateway', 'graphql.execute')[0]!;
    for (const phase of ['graphql.cost', 'graphql.plan']) expect(parentOf(spans, named(spans, 'lotabots-gateway', phase)[0]!)).toBe(execute);
    // The fetch to the inference subgraph is the parent of the subgraph's request span.
    const fetch = spans.find((span) => span.name === 'subgraph.fetch' && span.attributes['lotabots.subgraph.name'] === 'inference')!;
    expect(fetch.service).toBe('lotabots-gateway');
    const subgraphRequest = named(spans, 'lotabots-inference', 'POST /graphql').find((span) => span.parentSpanId === fetch.spanId)!;
    expect(subgraphRequest).toBeDefined();
    expect(spans.some((span) => span.service === 'lotabots-inference' && span.attributes['lotabots.inference.job_id'] === jobId)).toBe(true);
    // The worker's run joined through the job on the queue, and the backend call carried its span.
    const [run] = named(spans, 'lotabots-worker', 'inference.job');
    expect(run!.attributes).toMatchObject({ 'lotabots.inference.job_id': jobId, 'lotabots.inference.model': 'fake-fast', 'lotabots.inference.outcome': 'completed' });
    expect(parentOf(spans, run!)?.service).toBe('lotabots-inference');
    expect(backendCall.traceparent!.split('-')[2]).toBe(run!.spanId);
    // Nothing secret in any span: no prompt, no credential.
    const everything = JSON.stringify(receiver.spans);
    expect(everything).not.toContain(PROMPT);
    expect(everything).not.toContain(authorization.slice('Bearer '.length));
  });

  it('a subscription over graphql-ws is traced too, and its trace continues into the subgraph over the upstream WebSocket', { timeout: 180_000 }, async () => {
    // Two subscriptions, one after the other, on one client socket: they share the upstream
    // WebSocket too, and each must still continue its own trace in the subgraph.
    const jobIds = [await runJobThroughGateway(platform, authorization), await runJobThroughGateway(platform, authorization)];
    const client = createWsClient({ url: platform.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization }, retryAttempts: 0 });
    try {
      for (const jobId of jobIds) {
        const types: string[] = [];
        for await (const result of client.iterate({ query: EVENTS, variables: { jobId } })) {
          types.push((result.data as { inferenceEvents: { __typename: string } }).inferenceEvents.__typename);
        }
        expect(types.at(-1)).toBe('InferenceCompletedEvent');
      }
    } finally {
      await client.dispose();
    }
    const operations = await (async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        await platform.flushTraces();
        const found = receiver.spans.filter((span) => span.service === 'lotabots-gateway' && span.name === 'graphql.operation' && span.attributes['graphql.operation.name'] === 'Events');
        if (found.length >= jobIds.length) return found;
        if (Date.now() > deadline) throw new Error('no span of the subscriptions arrived');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    expect(new Set(operations.map((operation) => operation.traceId)).size).toBe(jobIds.length);
    for (const operation of operations) {
      expect(operation.attributes['graphql.operation.type']).toBe('subscription');
      const spans = await spansOfTrace(operation.traceId, (found) => named(found, 'lotabots-inference', 'graphql.subscribe').length > 0);
      const subgraphOperation = parentOf(spans, named(spans, 'lotabots-inference', 'graphql.subscribe')[0]!)!;
      expect(subgraphOperation).toMatchObject({ service: 'lotabots-inference', name: 'graphql.operation' });
      expect(parentOf(spans, subgraphOperation)?.service).toBe('lotabots-gateway');
    }
  });
});

describe('tracing off (no endpoint configured)', () => {
  let upstream: FakeOpenAi;
  let platform: TestPlatform;
  let authorization: string;

  beforeAll(async () => {
    upstream = await startFakeOpenAi({ tokenCount: 3 });
    ({ platform, authorization } = await startInferencePlatform(upstream, { OTEL_SERVICE_NAME: 'unused', OTEL_TRACES_SAMPLER: 'always_on' }));
  });
  afterAll(async () => {
    await platform?.stop();
    await upstream?.close();
  });

  it('sends no trace context anywhere: the model server sees no traceparent', async () => {
    await runJobThroughGateway(platform, authorization);
    const backendCall = upstream.requests.find((request) => request.lastMessage === PROMPT)!;
    expect(backendCall).toBeDefined();
    expect(backendCall.traceparent).toBeUndefined();
  });
});
