import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import { createIdentitySigner, IDENTITY_HEADER } from '../lib/auth/identity-header.js';
import { anonymousPrincipal, type Principal, scopesOfRoles } from '../lib/auth/principal.js';
import { AUTONOMY_DECISIONS_STREAM, parseActionDecision } from '../lib/autonomy/actions.js';
import { announceAutonomyChange } from '../lib/autonomy/changes.js';
import { SYSTEM_PROMPTS } from '../lib/autonomy/prompts.js';
import { systemClock } from '../lib/clock.js';
import { uuidV5 } from '../lib/ids.js';
import { type Delivery, type InferenceBus, type JobEvent } from '../lib/inference/index.js';
import { USAGE_EVENTS_STREAM } from '../lib/live/keys.js';
import { tokenCounterKey } from '../lib/plans/quotas.js';
import { createAutonomyPrisma } from '../subgraphs/autonomy/data/database.js';
import { workerEnvSchema } from '../worker/config.js';
import { createWorker, type Worker } from '../worker/worker.js';
import { FAKE_TOOL_CALLS, type FakeOpenAi, fakeToken, startFakeOpenAi } from './fake-openai.js';
import { type GraphQLResponse, postGraphQL, startTestPlatform, type TestPlatform } from './kit.js';
import { within } from './within.js';

// Inference through the gateway: submission, the job's event stream over graphql-ws and SSE,
// reconnection with `after`, cancellation, ownership, validation, autonomy, limits and the
// response cache. A scripted worker drives jobs through the real bus (lib/inference), so
// each test decides exactly when a token or the end arrives.

type Result = { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> };
type Stream = AsyncIterableIterator<Result>;

const SUBMIT = /* GraphQL */ `
  mutation Submit($input: SubmitInferenceInput!) {
    submitInference(input: $input) { id status cached output priority autonomyLevel context model { id } messages { role content } }
  }
`;
const EVENT_FIELDS = /* GraphQL */ `
  fragment EventFields on InferenceEvent {
    __typename
    seq
    ... on InferenceQueuedEvent { at }
    ... on InferenceStartedEvent { attempt }
    ... on InferenceTokenEvent { index text }
    ... on InferenceCompletedEvent { promptTokens completionTokens timeToFirstTokenMs tokensPerSecond cached }
    ... on InferenceFailedEvent { code message }
    ... on InferenceCancelledEvent { at }
  }
`;
const EVENTS = /* GraphQL */ `
  subscription Events($jobId: ID!, $after: Int) {
    inferenceEvents(jobId: $jobId, after: $after) { ...EventFields }
  }
  ${EVENT_FIELDS}
`;
const RUN = /* GraphQL */ `
  subscription Run($input: SubmitInferenceInput!, $idempotencyKey: String) {
    runInference(input: $input, idempotencyKey: $idempotencyKey) { ...EventFields ... on InferenceQueuedEvent { jobId } }
  }
  ${EVENT_FIELDS}
`;
const JOB = /* GraphQL */ `
  query Job($id: ID!) {
    inferenceJob(id: $id) { id status output tokensIn tokensOut cached error { code message } timeToFirstTokenMs tokensPerSecond startedAt finishedAt }
  }
`;
const MODEL = 'lotabots-tiny-cpu';

const codesOf = (response: GraphQLResponse | Result) =>
  ('body' in response ? response.body.errors : response.errors)?.map((error) => error.extensions?.code) ?? [];

type EventObject = { __typename: string; seq: number; index?: number; text?: string; cached?: boolean; jobId?: string };

/**
 * `inferenceEvents` (or `query`: `runInference`) through the gateway over graphql-ws or SSE
 * (graphql-sse, distinct connections) with the caller's `headers`; `sockets` collects the
 * WebSockets so a test can cut them.
 */
function subscribeThrough(
  gatewayUrl: string,
  transport: 'graphql-ws' | 'SSE',
  headers: Record<string, string>,
  variables: Record<string, unknown>,
  disposers: Array<() => unknown>,
  sockets: WebSocket[] = [],
  query = EVENTS,
): Stream {
  if (transport === 'SSE') {
    const client = createSseClient({ url: gatewayUrl, headers, singleConnection: false, retryAttempts: 0 });
    disposers.push(() => client.dispose());
    return client.iterate({ query, variables }) as Stream;
  }
  class TrackedWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      sockets.push(this);
    }
  }
  const client = createWsClient({ url: gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: TrackedWebSocket, connectionParams: headers, retryAttempts: 0, lazy: true });
  disposers.push(() => client.dispose());
  return client.iterate({ query, variables }) as Stream;
}

/** The next `count` events, fewer when the stream completes first (every event until then by default). */
async function eventsOf(stream: Stream, count = Number.POSITIVE_INFINITY): Promise<EventObject[]> {
  const events: EventObject[] = [];
  while (events.length < count) {
    const { done, value } = await within(stream.next(), 30_000, 'no inference event or end');
    if (done) break;
    expect(value.errors).toBeUndefined();
    events.push(value.data!.inferenceEvents ?? value.data!.runInference);
  }
  return events;
}

/** Resolves once the job's usage event is recorded: the lifecycle consumer fills the response cache before that. */
async function usageRecorded(platform: TestPlatform, jobId: string): Promise<void> {
  const recorded = async () => (await platform.redis.xrange(USAGE_EVENTS_STREAM, '-', '+')).some(([, fields]) => fields.includes(`inference:${jobId}`));
  await within(
    (async () => {
      while (!(await recorded())) await new Promise((resolve) => setTimeout(resolve, 50));
    })(),
    30_000,
    'no usage event',
  );
}

/** Resolves once the Redis counter at `key` reads `value` (the usage subgraph counts asynchronously). */
async function counterReaches(platform: TestPlatform, key: string, value: string): Promise<void> {
  while ((await platform.redis.get(key)) !== value) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Takes jobs from the real queue and writes their events, as a worker would, when told to. */
function scriptedWorker(bus: InferenceBus) {
  const now = () => new Date().toISOString();
  return {
    async take(): Promise<Delivery> {
      for (;;) {
        const delivery = await bus.queue.take('scripted-worker', { blockMs: 1_000 });
        if (delivery) return delivery;
      }
    },
    /** Runs a taken job: started, then returns helpers for its tokens and its end. */
    async start(delivery: Delivery) {
      const { jobId } = delivery.job;
      const fence = { attempt: 1 };
      expect(await bus.log.append(jobId, { type: 'started', at: now(), workerId: 'scripted-worker', attempt: 1 })).not.toBeNull();
      let index = 0;
      const texts: string[] = [];
      const append = (event: JobEvent) => bus.log.append(jobId, event, fence);
      return {
        token: async (text: string) => {
          const seq = await append({ type: 'token', index, text });
          if (seq !== null) {
            index += 1;
            texts.push(text);
          }
          return seq;
        },
        complete: async () => {
          const seq = await append({
            type: 'completed',
            at: now(),
            promptTokens: 7,
            completionTokens: texts.length,
            timeToFirstTokenMs: 12,
            tokensPerSecond: 40,
            text: texts.join(''),
            cached: false,
          });
          await bus.queue.ack('scripted-worker', delivery);
          return seq;
        },
      };
    },
  };
}

describe('inference through the gateway', () => {
  let platform: TestPlatform;
  let bus: InferenceBus;
  let worker: ReturnType<typeof scriptedWorker>;
  const disposers: Array<() => unknown> = [];
  const ada = randomUUID();
  const bob = randomUUID();
  const bearer = async (userId: string, roles?: string[]) => ({ authorization: `Bearer ${await platform.tokenFor(userId, { roles })}` });

  beforeAll(async () => {
    platform = await startTestPlatform({ startWorker: false });
    bus = platform.inferenceBus;
    worker = scriptedWorker(bus);
  });
  afterAll(async () => {
    for (const dispose of disposers) await dispose();
    await platform?.stop();
  });

  const submit = async (userId: string, input: Record<string, unknown>) =>
    platform.query(SUBMIT, { input: { model: MODEL, ...input } }, await bearer(userId));
  const submitOk = async (userId: string, input: Record<string, unknown>) => {
    const response = await submit(userId, input);
    expect(response.body.errors).toBeUndefined();
    return response.body.data!.submitInference as { id: string; status: string; cached: boolean; output: string; messages: unknown[] };
  };
  const jobAs = async (userId: string, id: string) => platform.query(JOB, { id }, await bearer(userId));
  /** The job once the lifecycle consumer has moved it to `status`. */
  const jobOnceIn = async (userId: string, id: string, status: string) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { body } = await jobAs(userId, id);
      if (body.data?.inferenceJob?.status === status || Date.now() > deadline) return body.data?.inferenceJob;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const overWs = async (userId: string, variables: Record<string, unknown>, sockets: WebSocket[] = []) =>
    subscribeThrough(platform.gatewayUrl, 'graphql-ws', await bearer(userId), variables, disposers, sockets);
  const overSse = async (userId: string, variables: Record<string, unknown>) => subscribeThrough(platform.gatewayUrl, 'SSE', await bearer(userId), variables, disposers);
  /** `runInference` with `variables` (`input` with the model filled in, `idempotencyKey`). */
  const runAs = async (userId: string, variables: { input: Record<string, unknown>; idempotencyKey?: string }, transport: 'graphql-ws' | 'SSE' = 'graphql-ws') =>
    subscribeThrough(platform.gatewayUrl, transport, await bearer(userId), { ...variables, input: { model: MODEL, ...variables.input } }, disposers, [], RUN);
  /** The first result of a stream that must fail: its error codes and extensions. */
  const refusalOf = async (stream: Stream) => {
    const { value } = await within(stream.next(), 30_000, 'no result');
    expect((value as Result).data?.runInference ?? null).toBeNull();
    return (value as Result).errors ?? [];
  };
  const nextEvent = async (stream: Stream) => {
    const [event] = await eventsOf(stream, 1);
    if (!event) throw new Error('the stream ended');
    return event;
  };
  /** Every event until the stream completes. */
  const drain = (stream: Stream) => eventsOf(stream);

  it('lists the models', async () => {
    const { body } = await platform.query('{ models { id backend contextWindow } }');
    expect(body.data!.models).toContainEqual({ id: MODEL, backend: 'cpu', contextWindow: 2048 });
  });

  for (const transport of ['graphql-ws', 'SSE'] as const) {
    it(`submit → stream → complete over ${transport}: numbered events, the job row, the usage event`, async () => {
      const job = await submitOk(ada, { prompt: 'Say hello', maxTokens: 16 });
      expect(job).toMatchObject({ status: 'QUEUED', cached: false, output: '', priority: 'LOW', autonomyLevel: 'ASSISTED', context: null });
      const stream = transport === 'SSE' ? await overSse(ada, { jobId: job.id }) : await overWs(ada, { jobId: job.id });
      expect(await nextEvent(stream)).toMatchObject({ __typename: 'InferenceQueuedEvent', seq: 1 });

      const delivery = await worker.take();
      expect(delivery.job).toMatchObject({ jobId: job.id, userId: ada, model: MODEL, maxTokens: 16, priority: 'low', autonomyLevel: 'ASSISTED' });
      expect(delivery.job.messages).toEqual([
        { role: 'system', content: SYSTEM_PROMPTS.ASSISTED },
        { role: 'user', content: 'Say hello' },
      ]);
      const run = await worker.start(delivery);
      for (const text of ['Hel', 'lo', ' there']) await run.token(text);
      await run.complete();

      const events = await drain(stream);
      expect(events).toEqual([
        { __typename: 'InferenceStartedEvent', seq: 2, attempt: 1 },
        { __typename: 'InferenceTokenEvent', seq: 3, index: 0, text: 'Hel' },
        { __typename: 'InferenceTokenEvent', seq: 4, index: 1, text: 'lo' },
        { __typename: 'InferenceTokenEvent', seq: 5, index: 2, text: ' there' },
        { __typename: 'InferenceCompletedEvent', seq: 6, promptTokens: 7, completionTokens: 3, timeToFirstTokenMs: 12, tokensPerSecond: 40, cached: false },
      ]);
      expect(await jobOnceIn(ada, job.id, 'SUCCEEDED')).toMatchObject({
        status: 'SUCCEEDED',
        output: 'Hello there',
        tokensIn: 7,
        tokensOut: 3,
        cached: false,
        error: null,
        timeToFirstTokenMs: 12,
        tokensPerSecond: 40,
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
      });
      const usage = await platform.redis.xrange(USAGE_EVENTS_STREAM, '-', '+');
      const recorded = usage.map(([, fields]) => Object.fromEntries(fields.flatMap((_, i) => (i % 2 ? [] : [[fields[i], fields[i + 1]]]))));
      expect(recorded).toContainEqual(expect.objectContaining({ eventId: `inference:${job.id}`, userId: ada, requests: '0', tokensIn: '7', tokensOut: '3' }));
    });
  }

  for (const transport of ['graphql-ws', 'SSE'] as const) {
    it(`runInference over ${transport} submits and streams in one operation: the first event names the job, which is like any other`, async () => {
      const stream = await runAs(ada, { input: { prompt: 'In one go', maxTokens: 8 } }, transport);
      const queued = await nextEvent(stream);
      expect(queued).toEqual({ __typename: 'InferenceQueuedEvent', seq: 1, at: expect.any(String), jobId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      const delivery = await worker.take();
      expect(delivery.job).toMatchObject({ jobId: queued.jobId, userId: ada, model: MODEL, maxTokens: 8 });
      const run = await worker.start(delivery);
      await run.token('Done');
      await run.complete();
      expect(await drain(stream)).toEqual([
        { __typename: 'InferenceStartedEvent', seq: 2, attempt: 1 },
        { __typename: 'InferenceTokenEvent', seq: 3, index: 0, text: 'Done' },
        { __typename: 'InferenceCompletedEvent', seq: 4, promptTokens: 7, completionTokens: 1, timeToFirstTokenMs: 12, tokensPerSecond: 40, cached: false },
      ]);
      expect(await jobOnceIn(ada, queued.jobId!, 'SUCCEEDED')).toMatchObject({ status: 'SUCCEEDED', output: 'Done' });
    });
  }

  it('runInference with an idempotency key: the same key streams the job it submitted from its first event, per user; another input with it is BAD_USER_INPUT', async () => {
    const idempotencyKey = `retry-${randomUUID()}`;
    const input = { prompt: 'Only once', maxTokens: 8 };
    const depthBefore = await bus.queue.depth();
    const first = await runAs(ada, { input, idempotencyKey });
    const queued = await nextEvent(first);
    expect(queued).toMatchObject({ __typename: 'InferenceQueuedEvent', seq: 1 });
    await first.return?.();
    // The connection was lost before the client saw anything: it runs again with the same key.
    const again = await runAs(ada, { input, idempotencyKey });
    expect(await nextEvent(again)).toEqual(queued);
    expect(await bus.queue.depth()).toBe(depthBefore + 1);

    const other = await refusalOf(await runAs(ada, { input: { ...input, prompt: 'Something else' }, idempotencyKey }));
    expect(other.map((error) => error.extensions)).toEqual([expect.objectContaining({ code: 'BAD_USER_INPUT', argument: 'idempotencyKey' })]);
    // Keys are per user: Bob's run under the same key is a job of his own.
    const bobs = await nextEvent(await runAs(bob, { input, idempotencyKey }));
    expect(bobs.jobId).not.toBe(queued.jobId);
    expect(await bus.queue.depth()).toBe(depthBefore + 2);

    const run = await worker.start(await worker.take());
    expect(run).toBeDefined();
    await run.token('Once');
    await run.complete();
    expect((await drain(again)).map((event) => event.__typename)).toEqual(['InferenceStartedEvent', 'InferenceTokenEvent', 'InferenceCompletedEvent']);
    await drainQueue();
  });

  it('two identical runInference subscriptions of one caller are two jobs: the gateway never shares their upstream', async () => {
    const input = { prompt: 'Twice, on purpose', maxTokens: 4 };
    const [a, b] = await Promise.all([runAs(ada, { input }), runAs(ada, { input })]);
    const [queuedA, queuedB] = await Promise.all([nextEvent(a), nextEvent(b)]);
    expect(queuedA.jobId).toEqual(expect.any(String));
    expect(queuedB.jobId).toEqual(expect.any(String));
    expect(queuedA.jobId).not.toBe(queuedB.jobId);
    await drainQueue();
    expect((await drain(a)).map((event) => event.__typename)).toEqual(['InferenceCancelledEvent']);
    expect((await drain(b)).map((event) => event.__typename)).toEqual(['InferenceCancelledEvent']);
  });

  it('refuses an invalid runInference as its only result, with the code and argument submitInference gives, and queues nothing', async () => {
    const depthBefore = await bus.queue.depth();
    const refusals = await Promise.all([
      runAs(ada, { input: { prompt: '' } }).then(refusalOf),
      runAs(ada, { input: { prompt: 'Hi', maxTokens: 0 } }).then(refusalOf),
      runAs(ada, { input: { prompt: 'Hi', model: 'no-such-model' } }).then(refusalOf),
      runAs(ada, { input: { prompt: 'Hi' }, idempotencyKey: 'spaces are not allowed' }).then(refusalOf),
      runAs(ada, { input: { prompt: 'x'.repeat(32_001) } }).then(refusalOf),
      runAs(ada, { input: { prompt: 'Hi' }, idempotencyKey: 'k'.repeat(129) }).then(refusalOf),
    ]);
    expect(refusals.map((errors) => errors.map((error) => [error.extensions?.code, error.extensions?.argument]))).toEqual([
      [['BAD_USER_INPUT', 'input.prompt']],
      [['BAD_USER_INPUT', 'input.maxTokens']],
      [['BAD_USER_INPUT', 'input.model']],
      [['BAD_USER_INPUT', 'idempotencyKey']],
      [['BAD_USER_INPUT', 'input.prompt']],
      [['BAD_USER_INPUT', 'idempotencyKey']],
    ]);
    expect(await bus.queue.depth()).toBe(depthBefore);
  });

  it('refuses an anonymous runInference with UNAUTHENTICATED, and queues nothing', async () => {
    const depthBefore = await bus.queue.depth();
    const stream = subscribeThrough(platform.gatewayUrl, 'SSE', {}, { input: { model: MODEL, prompt: 'Hi' } }, disposers, [], RUN);
    expect((await refusalOf(stream)).map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(await bus.queue.depth()).toBe(depthBefore);
  });

  it('a client cut off mid-stream resubscribes with the last seq it saw and gets every later token once, in order', async () => {
    const job = await submitOk(ada, { prompt: 'Count to six', maxTokens: 16 });
    const run = await worker.start(await worker.take());
    await run.token('one ');
    await run.token('two ');
    const sockets: WebSocket[] = [];
    const first = await overWs(ada, { jobId: job.id }, sockets);
    const seen = [await nextEvent(first), await nextEvent(first), await nextEvent(first), await nextEvent(first)];
    expect(seen.map((event) => event.__typename)).toEqual(['InferenceQueuedEvent', 'InferenceStartedEvent', 'InferenceTokenEvent', 'InferenceTokenEvent']);
    // The connection drops without a goodbye; tokens keep coming meanwhile.
    for (const socket of sockets) socket.terminate();
    await run.token('three ');
    await run.token('four ');
    const resumed = await overWs(ada, { jobId: job.id, after: seen.at(-1)!.seq });
    expect(await nextEvent(resumed)).toEqual({ __typename: 'InferenceTokenEvent', seq: 5, index: 2, text: 'three ' });
    await run.token('five ');
    await run.complete();
    const rest = await drain(resumed);
    const tokens = [...seen, { __typename: 'InferenceTokenEvent', seq: 5, index: 2, text: 'three ' }, ...rest].filter((event) => event.__typename === 'InferenceTokenEvent');
    expect(tokens.map((event) => event.index)).toEqual([0, 1, 2, 3, 4]);
    expect(tokens.map((event) => event.text).join('')).toBe('one two three four five ');
    expect(rest.at(-1)).toMatchObject({ __typename: 'InferenceCompletedEvent', seq: 8 });
    // Subscribing after the end answers nothing more and completes.
    expect(await drain(await overWs(ada, { jobId: job.id, after: 8 }))).toEqual([]);
  });

  it('regression: a second identical subscription of the same caller gets the whole stream, not only what follows its arrival', async () => {
    const job = await submitOk(ada, { prompt: 'Two tabs', maxTokens: 8 });
    const run = await worker.start(await worker.take());
    const firstTab = await overWs(ada, { jobId: job.id });
    expect((await nextEvent(firstTab)).seq).toBe(1);
    expect((await nextEvent(firstTab)).seq).toBe(2);
    await run.token('a');
    expect(await nextEvent(firstTab)).toMatchObject({ seq: 3, text: 'a' });
    const secondTab = await overWs(ada, { jobId: job.id });
    expect((await nextEvent(secondTab)).seq).toBe(1);
    await run.token('b');
    await run.complete();
    expect((await drain(secondTab)).map((event) => event.seq)).toEqual([2, 3, 4, 5]);
    expect((await drain(firstTab)).map((event) => event.seq)).toEqual([4, 5]);
  });

  it('ends the stream with CONFLICT when the job was ended without its log getting a terminal event', async () => {
    const job = await submitOk(ada, { prompt: 'Lost in the queue' });
    // As when Redis failed while the subgraph failed the job: the row is final, the log is not.
    await platform.db.query(`UPDATE inference."InferenceJob" SET status = 'FAILED', "errorCode" = 'ENQUEUE_FAILED' WHERE id = $1`, [job.id]);
    const stream = await overWs(ada, { jobId: job.id });
    expect(await nextEvent(stream)).toMatchObject({ __typename: 'InferenceQueuedEvent', seq: 1 });
    const { value } = await within(stream.next(), 30_000, 'the stream did not end');
    expect(codesOf(value as Result)).toEqual(['CONFLICT']);
    await drainQueue();
  });

  it('cancels a running job: the stream ends with cancelled, the worker is fenced out, a second cancel is CONFLICT', async () => {
    const job = await submitOk(ada, { prompt: 'A long story', maxTokens: 64 });
    const run = await worker.start(await worker.take());
    await run.token('Once');
    const stream = await overWs(ada, { jobId: job.id, after: 1 });
    expect(await nextEvent(stream)).toMatchObject({ __typename: 'InferenceStartedEvent' });
    expect(await nextEvent(stream)).toMatchObject({ __typename: 'InferenceTokenEvent', text: 'Once' });

    const cancel = 'mutation Cancel($id: ID!) { cancelInference(id: $id) { id status finishedAt } }';
    const { body } = await platform.query(cancel, { id: job.id }, await bearer(ada));
    expect(body.errors).toBeUndefined();
    expect(body.data!.cancelInference).toMatchObject({ id: job.id, status: 'CANCELLED', finishedAt: expect.any(String) });
    expect(await drain(stream)).toEqual([{ __typename: 'InferenceCancelledEvent', seq: 4, at: expect.any(String) }]);
    expect(await run.token(' upon')).toBeNull();
    expect(await run.complete()).toBeNull();
    expect((await jobAs(ada, job.id)).body.data!.inferenceJob).toMatchObject({ status: 'CANCELLED', output: '' });

    const again = await platform.query(cancel, { id: job.id }, await bearer(ada));
    expect(again.body.data!.cancelInference).toBeNull();
    expect(codesOf(again)).toEqual(['CONFLICT']);
  });

  it('another user cannot read, cancel or stream the job: NOT_FOUND, as for a job that does not exist', async () => {
    const job = await submitOk(ada, { prompt: 'Private thoughts' });
    for (const id of [job.id, randomUUID(), 'not-a-uuid']) {
      const read = await jobAs(bob, id);
      expect(read.body.data!.inferenceJob).toBeNull();
      expect(codesOf(read)).toEqual(['NOT_FOUND']);
      const cancel = await platform.query('mutation ($id: ID!) { cancelInference(id: $id) { id } }', { id }, await bearer(bob));
      expect(cancel.body.data!.cancelInference).toBeNull();
      expect(codesOf(cancel)).toEqual(['NOT_FOUND']);
      for (const stream of [await overWs(bob, { jobId: id }), await overSse(bob, { jobId: id })]) {
        const { value } = await within(stream.next(), 30_000, 'no answer');
        expect(value?.data?.inferenceEvents ?? null).toBeNull();
        expect(codesOf(value as Result)).toEqual(['NOT_FOUND']);
      }
    }
    const own = await platform.query('{ inferenceJobs(first: 100) { edges { node { id } } } }', undefined, await bearer(bob));
    expect(own.body.data!.inferenceJobs.edges.map((edge: { node: { id: string } }) => edge.node.id)).not.toContain(job.id);
    // The job is untouched, and an admin sees it.
    const admin = await platform.query(JOB, { id: job.id }, await bearer(randomUUID(), ['admin']));
    expect(admin.body.data!.inferenceJob).toMatchObject({ id: job.id, status: 'QUEUED' });
    await drainQueue();
  });

  it('refuses invalid input with BAD_USER_INPUT naming the argument', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ prompt: '' }, 'input.prompt'],
      [{ prompt: '   ' }, 'input.prompt'],
      [{}, 'input.prompt'],
      [{ prompt: 'hi', messages: [{ role: 'USER', content: 'hi' }] }, 'input.messages'],
      [{ messages: [] }, 'input.messages'],
      [{ messages: [{ role: 'ASSISTANT', content: 'only me' }] }, 'input.messages'],
      [{ prompt: 'hi', maxTokens: 0 }, 'input.maxTokens'],
      [{ prompt: 'hi', maxTokens: 4_097 }, 'input.maxTokens'],
      [{ prompt: 'hi', maxTokens: 4_000 }, 'input.maxTokens'], // above the model's 2,048-token window
      [{ prompt: 'x'.repeat(32_001) }, 'input.prompt'],
      [{ prompt: 'hi', stop: ['a', 'b', 'c', 'd', 'e'] }, 'input.stop'],
      [{ prompt: 'hi', stop: ['x'.repeat(65)] }, 'input.stop'],
      [{ prompt: 'hi', temperature: 2.5 }, 'input.temperature'],
      [{ prompt: 'hi', temperature: -0.1 }, 'input.temperature'],
      [{ prompt: 'hi', topP: 0 }, 'input.topP'],
      [{ prompt: 'hi', seed: -1 }, 'input.seed'],
      [{ prompt: 'hi', context: 'Not A Context!' }, 'input.context'],
      [{ prompt: 'hi', model: 'no-such-model' }, 'input.model'],
    ];
    for (const [input, argument] of cases) {
      const response = await submit(ada, input);
      const where = JSON.stringify(input).slice(0, 80);
      expect(response.body.data?.submitInference ?? null, where).toBeNull();
      expect(codesOf(response), where).toEqual(['BAD_USER_INPUT']);
      expect(response.body.errors![0]!.extensions!.argument, where).toBe(argument);
    }
    const disabled = await platform.db.query(`INSERT INTO inference."Model" (id, "displayName", backend, "contextWindow", enabled) VALUES ('retired-model', 'Retired', 'cpu', 2048, false) RETURNING id`);
    expect(disabled).toHaveLength(1);
    expect(codesOf(await submit(ada, { prompt: 'hi', model: 'retired-model' }))).toEqual(['BAD_USER_INPUT']);
    expect(await bus.queue.depth()).toBe(0);
  });

  it('takes jobs from an API key for its owner; refuses anonymous callers (UNAUTHENTICATED) and callers without a user (FORBIDDEN)', async () => {
    const registered = await platform.query(
      'mutation ($input: RegisterInput!) { register(input: $input) { user { id } accessToken } }',
      { input: { email: 'partner@example.com', password: 'correct horse battery staple', displayName: 'Partner' } },
    );
    const { user, accessToken } = registered.body.data!.register;
    const created = await platform.query('mutation { createApiKey(input: { name: "jobs" }) { key } }', undefined, { authorization: `Bearer ${accessToken}` });
    // Partners run trusted documents only: the manifest's partner example (clients/partners/SubmitInference.graphql).
    const manifest = JSON.parse(await readFile(new URL('../clients/persisted-documents.json', import.meta.url), 'utf8')) as { operations: Array<{ id: string; name: string }> };
    const documentId = manifest.operations.find((operation) => operation.name === 'SubmitInference')!.id;
    const answer = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-api-key': created.body.data!.createApiKey.key },
      body: JSON.stringify({ documentId, variables: { input: { model: MODEL, prompt: 'From a partner' } } }),
    });
    const viaKey = { body: (await answer.json()) as GraphQLResponse<{ submitInference: { id: string } }>['body'] };
    expect(viaKey.body.errors).toBeUndefined();
    const jobId = viaKey.body.data!.submitInference.id;
    expect((await jobAs(user.id, jobId)).body.data!.inferenceJob).toMatchObject({ id: jobId, status: 'QUEUED' });

    const anonymous = await platform.query(SUBMIT, { input: { model: MODEL, prompt: 'hi' } });
    expect(codesOf(anonymous)).toEqual(['UNAUTHENTICATED']);
    // Past the gateway's directives, the subgraph itself refuses a caller that owns nothing.
    const oidc: Principal = { ...anonymousPrincipal(null), kind: 'oidc', subject: 'oidc:https://idp.example#x', roles: ['user'], scopes: scopesOfRoles(['user']) };
    for (const [principal, code] of [[oidc, 'FORBIDDEN'], [anonymousPrincipal(null), 'UNAUTHENTICATED']] as const) {
      const identity = await createIdentitySigner(platform.secrets.identitySecret).sign(principal);
      const direct = await postGraphQL<Record<string, unknown>>(platform.subgraphUrls.inference, SUBMIT, { input: { model: MODEL, prompt: 'hi' } }, { [IDENTITY_HEADER]: identity });
      expect(codesOf(direct), principal.kind).toEqual([code]);
    }
    await drainQueue();
  });

  it("refuses a job with AUTONOMY_FORBIDS where the caller's level for its context is NO_AI, and runs another context's under its level", async () => {
    const carol = randomUUID();
    const autonomy = createAutonomyPrisma(platform.db);
    try {
      await autonomy.autonomySetting.create({ data: { userId: carol, context: '', level: 'NO_AI' } });
      await autonomy.autonomySetting.create({ data: { userId: carol, context: 'code-review', level: 'EXPERT' } });
    } finally {
      await autonomy.$disconnect();
    }
    const refused = await submit(carol, { prompt: 'Write my essay' });
    expect(refused.body.data?.submitInference ?? null).toBeNull();
    expect(codesOf(refused)).toEqual(['AUTONOMY_FORBIDS']);
    expect(await bus.queue.depth()).toBe(0);

    const allowed = await submitOk(carol, { prompt: 'Review this diff', context: 'code-review' });
    expect(allowed).toMatchObject({ status: 'QUEUED', autonomyLevel: 'EXPERT', context: 'code-review' });
    const delivery = await worker.take();
    expect(delivery.job.messages[0]).toEqual({ role: 'system', content: SYSTEM_PROMPTS.EXPERT });
    const run = await worker.start(delivery);
    await run.token('LGTM');
    await run.complete();
  });

  it('applies an autonomy change to the very next submission, though it reuses levels between changes', async () => {
    const dana = randomUUID();
    const change = async (mutation: string) => {
      const { body } = await platform.query(mutation, undefined, await bearer(dana));
      expect(body.errors).toBeUndefined();
    };
    expect(await submitOk(dana, { prompt: 'first' })).toMatchObject({ autonomyLevel: 'ASSISTED' });
    await change('mutation { setAutonomy(level: NO_AI) { level } }');
    expect(codesOf(await submit(dana, { prompt: 'second' }))).toEqual(['AUTONOMY_FORBIDS']);
    await change('mutation { setAutonomy(level: EXPERT) { level } }');
    expect(await submitOk(dana, { prompt: 'third' })).toMatchObject({ autonomyLevel: 'EXPERT' });
    expect(await submitOk(dana, { prompt: 'fourth', context: 'code-review' })).toMatchObject({ autonomyLevel: 'EXPERT' });
    await change('mutation { setAutonomy(level: COLLABORATOR, context: "code-review") { level } }');
    expect(await submitOk(dana, { prompt: 'fifth', context: 'code-review' })).toMatchObject({ autonomyLevel: 'COLLABORATOR' });
    await drainQueue();
    await change('mutation { clearAutonomy { level } }');
    expect(await submitOk(dana, { prompt: 'sixth' })).toMatchObject({ autonomyLevel: 'ASSISTED' });
    await drainQueue();
  });

  it("refuses a job with QUOTA_EXCEEDED once the free plan's hard monthly token quota is used up, and queues nothing", async () => {
    const dave = randomUUID();
    const now = new Date();
    const counter = tokenCounterKey(dave, now);
    // Counted as in production: a usage event → the usage subgraph's token counter.
    await platform.redis.xadd(USAGE_EVENTS_STREAM, '*', 'eventId', `quota-seed:${dave}`, 'userId', dave, 'at', now.toISOString(), 'requests', '0', 'tokensIn', '60000', 'tokensOut', '39995');
    await within(counterReaches(platform, counter, '99995'), 30_000, 'the seeded usage was not counted');
    const underQuota = await submitOk(dave, { prompt: 'One more, please' });
    expect(underQuota.status).toBe('QUEUED');
    const run = await worker.start(await worker.take());
    await run.token('Done');
    await run.complete();
    // The job's own 7 + 1 tokens, through its usage event, use the quota up.
    await within(counterReaches(platform, counter, '100003'), 30_000, "the job's usage was not counted");

    const depth = await bus.queue.depth();
    const refused = await submit(dave, { prompt: 'And another' });
    expect(refused.body.data?.submitInference ?? null).toBeNull();
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUOTA_EXCEEDED', quota: 'tokens', limit: 100_000, used: 100_003, resetAt: expect.any(String) }) }),
    ]);
    expect(new Date(refused.body.errors![0]!.extensions!.resetAt as string).getTime()).toBeGreaterThan(now.getTime());
    expect(await bus.queue.depth()).toBe(depth);
  });

  it('answers an identical deterministic request from the response cache, as a completed job whose events stream', async () => {
    const request = { prompt: 'What is 2 + 2?', temperature: 0, maxTokens: 8 };
    const original = await submitOk(ada, request);
    const run = await worker.start(await worker.take());
    await run.token('4');
    await run.token('.');
    await run.complete();
    await jobOnceIn(ada, original.id, 'SUCCEEDED');
    await usageRecorded(platform, original.id);

    const cached = await submitOk(ada, request);
    expect(cached).toMatchObject({ status: 'SUCCEEDED', cached: true, output: '4.' });
    expect(cached.id).not.toBe(original.id);
    expect(await drain(await overSse(ada, { jobId: cached.id }))).toEqual([
      { __typename: 'InferenceQueuedEvent', seq: 1, at: expect.any(String) },
      { __typename: 'InferenceTokenEvent', seq: 2, index: 0, text: '4' },
      { __typename: 'InferenceTokenEvent', seq: 3, index: 1, text: '.' },
      { __typename: 'InferenceCompletedEvent', seq: 4, promptTokens: 7, completionTokens: 2, timeToFirstTokenMs: 0, tokensPerSecond: 0, cached: true },
    ]);
    // Another level's system prompt is another request; a sampled one is never cached.
    expect(await submitOk(ada, { ...request, temperature: 0.7 })).toMatchObject({ status: 'QUEUED', cached: false });
    const metrics = await (await fetch(platform.metricsUrls.inference)).text();
    expect(metrics).toMatch(/^lotabots_inference_cache_hits_total\{service="inference"\} 1$/m);
    expect(metrics).toMatch(/^lotabots_inference_queue_depth\{service="inference"\} 1$/m);
    expect(metrics).toMatch(/^lotabots_inference_jobs_total\{state="succeeded",service="inference"\} \d+$/m);
    expect(metrics).toMatch(/^lotabots_inference_time_to_first_token_seconds_count\{service="inference"\} [1-9]\d*$/m);
    await drainQueue();
  });

  it("pages through the caller's own jobs, newest first, without repeats", async () => {
    const dave = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submitOk(dave, { prompt: `job ${i}` })).id);
    const page = async (after?: string) => {
      const { body } = await platform.query(
        'query ($after: String) { inferenceJobs(first: 2, after: $after) { edges { cursor node { id prompt } } pageInfo { hasNextPage endCursor } } }',
        { after },
        await bearer(dave),
      );
      expect(body.errors).toBeUndefined();
      return body.data!.inferenceJobs;
    };
    const first = await page();
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await page(first.pageInfo.endCursor);
    expect(second.pageInfo).toEqual({ hasNextPage: false, endCursor: second.edges[0].cursor });
    expect([...first.edges, ...second.edges].map((edge: { node: { id: string } }) => edge.node.id)).toEqual([...ids].reverse());
    const bad = await platform.query('{ inferenceJobs(first: 2, after: "garbage") { edges { cursor } } }', undefined, await bearer(dave));
    expect(codesOf(bad)).toEqual(['BAD_USER_INPUT']);
    await drainQueue();
  });

  /** Cancels whatever jobs a test left waiting, so the queue is empty for the next. */
  async function drainQueue() {
    for (;;) {
      const delivery = await bus.queue.take('scripted-worker', { blockMs: 0 });
      if (!delivery) return;
      await bus.log.append(delivery.job.jobId, { type: 'cancelled', at: new Date().toISOString() });
      await bus.queue.ack('scripted-worker', delivery);
    }
  }
});

describe('inference limits through the gateway', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({
      startWorker: false,
      inference: { INFERENCE_MAX_ACTIVE_JOBS_PER_USER: 2, INFERENCE_MAX_QUEUE_DEPTH: 3, INFERENCE_RETRY_AFTER_SECONDS: 7 },
    });
  });
  afterAll(() => platform?.stop());

  const submit = async (userId: string) =>
    platform.query(SUBMIT, { input: { model: MODEL, prompt: 'hello' } }, { authorization: `Bearer ${await platform.tokenFor(userId)}` });

  const [erin, frank] = [randomUUID(), randomUUID()];

  it('refuses with RATE_LIMITED and retryAfter past the per-user active jobs and when the queue is full', async () => {
    for (let i = 0; i < 2; i++) expect(codesOf(await submit(erin))).toEqual([]);
    const tooMany = await submit(erin);
    expect(codesOf(tooMany)).toEqual(['RATE_LIMITED']);
    expect(tooMany.body.errors![0]!.extensions!.retryAfter).toBe(7);

    expect(codesOf(await submit(frank))).toEqual([]);
    // Three waiting: the queue is full for everyone.
    const full = await submit(randomUUID());
    expect(codesOf(full)).toEqual(['RATE_LIMITED']);
    expect(full.body.errors![0]!.extensions).toMatchObject({ retryAfter: 7 });
    expect(full.body.errors![0]!.message).toMatch(/queue is full/);
    const metrics = await (await fetch(platform.metricsUrls.inference)).text();
    expect(metrics).toMatch(/^lotabots_inference_queue_depth\{service="inference"\} 3$/m);
    expect(metrics).toMatch(/^lotabots_inference_submissions_refused_total\{code="RATE_LIMITED",service="inference"\} 2$/m);
  });

  it('a runInference refused under an idempotency key leaves the key free: the retry with it submits', async () => {
    const grace = randomUUID();
    const disposers: Array<() => unknown> = [];
    const run = async () =>
      subscribeThrough(
        platform.gatewayUrl,
        'graphql-ws',
        { authorization: `Bearer ${await platform.tokenFor(grace)}` },
        { input: { model: MODEL, prompt: 'hello' }, idempotencyKey: 'after-the-queue-drains' },
        disposers,
        [],
        RUN,
      );
    try {
      // The queue is full (the test above).
      const { value } = await within((await run()).next(), 30_000, 'no result');
      expect(codesOf(value as Result)).toEqual(['RATE_LIMITED']);
      const taken = await platform.inferenceBus.queue.take('limits-test', { blockMs: 1_000 });
      await platform.inferenceBus.queue.ack('limits-test', taken!);
      const [queued] = await eventsOf(await run(), 1);
      expect(queued).toMatchObject({ __typename: 'InferenceQueuedEvent', seq: 1, jobId: expect.any(String) });
    } finally {
      for (const dispose of disposers) await dispose();
    }
  });

  it('refuses with SERVICE_UNAVAILABLE when the autonomy level cannot be learned (fail closed), and queues nothing', async () => {
    const before = await platform.inferenceBus.queue.depth();
    await platform.stopSubgraph('autonomy');
    const response = await submit(randomUUID());
    expect(codesOf(response)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(response.body.errors![0]!.extensions!.retryAfter).toEqual(expect.any(Number));
    expect(await platform.inferenceBus.queue.depth()).toBe(before);
  });

  it("reuses a level learned before the autonomy subgraph went down until the user's change marker moves", async () => {
    // Erin's level was learned by her submissions above; with her two jobs still active, getting
    // past the autonomy check shows as RATE_LIMITED.
    expect(codesOf(await submit(erin))).toEqual(['RATE_LIMITED']);
    await announceAutonomyChange(platform.redis, erin);
    expect(codesOf(await submit(erin))).toEqual(['SERVICE_UNAVAILABLE']);
  });
});

describe('inference with the real worker (openai backend against a local OpenAI-compatible server)', () => {
  let platform: TestPlatform;
  let upstream: FakeOpenAi;
  let worker: Worker;
  const disposers: Array<() => unknown> = [];
  const user = randomUUID();
  const MODEL_MAP = { 'fake-fast': 'fast', 'fake-slow': 'slow', 'fake-tools': 'tool-call' };

  beforeAll(async () => {
    platform = await startTestPlatform({ startWorker: false });
    for (const id of Object.keys(MODEL_MAP)) {
      await platform.db.query(`INSERT INTO inference."Model" (id, "displayName", backend, "contextWindow") VALUES ($1, $1, 'openai', 8192)`, [id]);
    }
    upstream = await startFakeOpenAi({ tokenCount: 12, slowTokenMs: 40 });
    const config = workerEnvSchema.parse({
      NODE_ENV: 'test',
      WORKER_ID: `inference-e2e-${randomUUID().slice(0, 8)}`,
      WORKER_BACKEND: 'openai',
      OPENAI_BASE_URL: upstream.baseUrl,
      OPENAI_MODEL_MAP: JSON.stringify(MODEL_MAP),
      WORKER_SHUTDOWN_GRACE_MS: '0',
    });
    worker = createWorker(config, { redis: platform.redis, bus: platform.inferenceBus, logger: platform.logger, clock: systemClock });
    await worker.start();
  });
  afterAll(async () => {
    for (const dispose of disposers) await dispose();
    await worker?.stop();
    await upstream?.close();
    await platform?.stop();
  });

  const headers = async () => ({ authorization: `Bearer ${await platform.tokenFor(user)}` });
  const submitOk = async (input: Record<string, unknown>) => {
    const { body } = await platform.query(SUBMIT, { input }, await headers());
    expect(body.errors).toBeUndefined();
    return body.data!.submitInference as { id: string; status: string; cached: boolean; output: string };
  };
  const subscribe = async (transport: 'graphql-ws' | 'SSE', variables: Record<string, unknown>, sockets: WebSocket[] = []) =>
    subscribeThrough(platform.gatewayUrl, transport, await headers(), variables, disposers, sockets);

  const tokensOf = (events: Array<{ __typename: string; index?: number; text?: string }>) => events.filter((event) => event.__typename === 'InferenceTokenEvent');

  for (const transport of ['graphql-ws', 'SSE'] as const) {
    it(`submit → stream → complete over ${transport}, the job row filled by the lifecycle consumer`, async () => {
      const job = await submitOk({ model: 'fake-fast', prompt: 'Tell me about the lighthouse', maxTokens: 5 });
      const events = await eventsOf(await subscribe(transport, { jobId: job.id }));
      expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(events[0]).toMatchObject({ __typename: 'InferenceQueuedEvent' });
      expect(events[1]).toMatchObject({ __typename: 'InferenceStartedEvent', attempt: 1 });
      expect(tokensOf(events).map((event) => event.text)).toEqual([0, 1, 2, 3, 4].map(fakeToken));
      expect(events.at(-1)).toMatchObject({ __typename: 'InferenceCompletedEvent', promptTokens: 7, completionTokens: 5, cached: false });
      const upstreamRequest = upstream.requests.at(-1)!;
      expect(upstreamRequest.body).toMatchObject({ model: 'fast', max_tokens: 5, stream: true });
      expect((upstreamRequest.body.messages as unknown[])[0]).toEqual({ role: 'system', content: SYSTEM_PROMPTS.ASSISTED });
      const deadline = Date.now() + 30_000;
      let row: Record<string, unknown> | undefined;
      while (Date.now() < deadline) {
        row = (await platform.query(JOB, { id: job.id }, await headers())).body.data?.inferenceJob;
        if (row?.status === 'SUCCEEDED') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(row).toMatchObject({ status: 'SUCCEEDED', output: [0, 1, 2, 3, 4].map(fakeToken).join(''), tokensIn: 7, tokensOut: 5, cached: false });
    });
  }

  it("streams over Apollo's multipart HTTP subscriptions too, ending with the closing boundary", async () => {
    const job = await submitOk({ model: 'fake-fast', prompt: 'Multipart', maxTokens: 3 });
    const response = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed;subscriptionSpec="1.0",application/json', ...(await headers()) },
      body: JSON.stringify({ query: EVENTS, variables: { jobId: job.id } }),
    });
    expect(response.status).toBe(200);
    const body = await within(response.text(), 30_000, 'the multipart stream did not end');
    const parts = body.split('\r\n--graphql').slice(1);
    expect(parts.at(-1)).toBe('--\r\n');
    const events = parts
      .slice(0, -1)
      .map((part) => JSON.parse(part.split('\r\n\r\n')[1]!) as { payload?: { data: { inferenceEvents: EventObject } } })
      .flatMap((part) => (part.payload ? [part.payload.data.inferenceEvents] : []));
    expect(events.map((event) => event.__typename)).toEqual([
      'InferenceQueuedEvent',
      'InferenceStartedEvent',
      'InferenceTokenEvent',
      'InferenceTokenEvent',
      'InferenceTokenEvent',
      'InferenceCompletedEvent',
    ]);
  });

  it('a WebSocket cut mid-generation: resubscribing with the last seq gives every token exactly once, in order', async () => {
    const job = await submitOk({ model: 'fake-slow', prompt: 'Count slowly', maxTokens: 12 });
    const sockets: WebSocket[] = [];
    const first = await eventsOf(await subscribe('graphql-ws', { jobId: job.id }, sockets), 5);
    expect(tokensOf(first).length).toBeGreaterThan(0);
    for (const socket of sockets) socket.terminate();
    const rest = await eventsOf(await subscribe('graphql-ws', { jobId: job.id, after: first.at(-1)!.seq }));
    const all = [...first, ...rest];
    expect(all.map((event) => event.seq)).toEqual(all.map((_, i) => i + 1));
    expect(tokensOf(all).map((event) => event.index)).toEqual([...Array(12).keys()]);
    expect(tokensOf(all).map((event) => event.text)).toEqual([...Array(12).keys()].map(fakeToken));
    expect(all.at(-1)).toMatchObject({ __typename: 'InferenceCompletedEvent', completionTokens: 12 });
  });

  it('runInference cut mid-generation: the job goes on, and inferenceEvents from the last seq gives every token exactly once, in order', async () => {
    const sockets: WebSocket[] = [];
    const variables = { input: { model: 'fake-slow', prompt: 'Count slowly, in one go', maxTokens: 12 }, idempotencyKey: randomUUID() };
    const first = await eventsOf(subscribeThrough(platform.gatewayUrl, 'graphql-ws', await headers(), variables, disposers, sockets, RUN), 5);
    expect(first[0]).toMatchObject({ __typename: 'InferenceQueuedEvent', seq: 1, jobId: expect.any(String) });
    expect(tokensOf(first).length).toBeGreaterThan(0);
    for (const socket of sockets) socket.terminate();
    const rest = await eventsOf(await subscribe('graphql-ws', { jobId: first[0]!.jobId, after: first.at(-1)!.seq }));
    const all = [...first, ...rest];
    expect(all.map((event) => event.seq)).toEqual(all.map((_, i) => i + 1));
    expect(tokensOf(all).map((event) => event.text)).toEqual([...Array(12).keys()].map(fakeToken));
    expect(all.at(-1)).toMatchObject({ __typename: 'InferenceCompletedEvent', completionTokens: 12 });
  });

  it('cancelling a generating job ends the stream with cancelled and stops the model server request', async () => {
    const job = await submitOk({ model: 'fake-slow', prompt: 'A long story', maxTokens: 12 });
    const stream = await subscribe('graphql-ws', { jobId: job.id });
    const seen = await eventsOf(stream, 3); // queued, started, the first token
    expect(seen.at(-1)).toMatchObject({ __typename: 'InferenceTokenEvent', index: 0 });
    const { body } = await platform.query('mutation ($id: ID!) { cancelInference(id: $id) { status } }', { id: job.id }, await headers());
    expect(body.data!.cancelInference).toEqual({ status: 'CANCELLED' });
    const rest = await eventsOf(stream);
    expect(rest.at(-1)).toMatchObject({ __typename: 'InferenceCancelledEvent' });
    expect(tokensOf(rest).length).toBeLessThan(11);
    await within(upstream.requests.at(-1)!.aborted, 30_000, 'the model server request was not aborted');
  });

  describe('tool calls the model proposes become actions held at the caller\'s autonomy level', () => {
    const ACTION = 'id jobId context name arguments status decidedBy';
    const PENDING = `{ pendingActions(first: 100) { edges { node { ${ACTION} } } } }`;
    const setLevel = async (level: string, context: string) => {
      const { body } = await platform.query('mutation ($level: AutonomyLevel!, $context: String) { setAutonomy(level: $level, context: $context) { level } }', { level, context }, await headers());
      expect(body.errors).toBeUndefined();
    };
    const pendingOf = async (jobId: string) => {
      const { body } = await platform.query(PENDING, undefined, await headers());
      expect(body.errors).toBeUndefined();
      return (body.data!.pendingActions.edges as Array<{ node: { id: string; jobId: string; name: string } }>).map((edge) => edge.node).filter((action) => action.jobId === jobId);
    };
    /** The job, run to its end by the real worker against the fake server's `tool-call` model. */
    const runToolJob = async (context: string) => {
      // Deterministic (a seed), so it would be cached if completions with tool calls were.
      const job = await submitOk({ model: 'fake-tools', prompt: 'Email Ada, then archive the thread', maxTokens: 3, seed: 7, context });
      expect(job.cached).toBe(false);
      const events = await eventsOf(await subscribe('SSE', { jobId: job.id }));
      expect(events.at(-1)).toMatchObject({ __typename: 'InferenceCompletedEvent', completionTokens: 3 });
      return job;
    };
    /** By name: the actions of one completion share `proposedAt`, so their listed order is not the calls'. */
    const byName = <Action extends { name: string }>(actions: Action[]) => [...actions].sort((a, b) => a.name.localeCompare(b.name));
    const expectedActions = (jobId: string, context: string, status: string) =>
      byName(FAKE_TOOL_CALLS).map((call) => expect.objectContaining({ id: uuidV5(jobId, call.id), jobId, context, name: call.name, arguments: call.arguments, status }));

    it('COLLABORATOR: each call is pending, by an id derived from the job and the call, and approveAction approves it', async () => {
      await setLevel('COLLABORATOR', 'email');
      const job = await runToolJob('email');
      let pending: Array<{ id: string; name: string }> = [];
      await within(
        (async () => {
          while ((pending = await pendingOf(job.id)).length < FAKE_TOOL_CALLS.length) await new Promise((resolve) => setTimeout(resolve, 50));
        })(),
        30_000,
        'the proposed actions were not held as pending',
      );
      pending = byName(pending);
      expect(pending).toEqual(expectedActions(job.id, 'email', 'PENDING'));
      const { body } = await platform.query(`mutation ($id: ID!) { approveAction(id: $id) { ${ACTION} } }`, { id: pending[0]!.id }, await headers());
      expect(body.errors).toBeUndefined();
      expect(body.data!.approveAction).toMatchObject({ id: pending[0]!.id, status: 'APPROVED', decidedBy: `user:${user}` });
      expect((await pendingOf(job.id)).map((action) => action.id)).toEqual([pending[1]!.id]);
      // Not cached: a replay would have skipped the proposals. The same request runs again.
      await usageRecorded(platform, job.id);
      await runToolJob('email');
    });

    it('AGENT: each call is approved automatically, and nothing waits for the user', async () => {
      await setLevel('AGENT', 'ops');
      const job = await runToolJob('ops');
      const decisions = async () =>
        (await platform.redis.xrange(AUTONOMY_DECISIONS_STREAM, '-', '+')).flatMap(([, fields]) => parseActionDecision(fields) ?? []).filter((decision) => decision.jobId === job.id);
      await within(
        (async () => {
          while ((await decisions()).length < FAKE_TOOL_CALLS.length) await new Promise((resolve) => setTimeout(resolve, 50));
        })(),
        30_000,
        'the proposed actions were not decided',
      );
      const decided = await decisions();
      expect(decided).toHaveLength(FAKE_TOOL_CALLS.length);
      expect(decided).toEqual(
        expect.arrayContaining(FAKE_TOOL_CALLS.map((call) => expect.objectContaining({ actionId: uuidV5(job.id, call.id), userId: user, decision: 'AUTO_APPROVED', decidedBy: 'autonomy:auto' }))),
      );
      expect(await pendingOf(job.id)).toEqual([]);
    });
  });

  it('answers the same deterministic request a second time from the cache, without asking the model server', async () => {
    const request = { model: 'fake-fast', prompt: 'Deterministic please', maxTokens: 4, seed: 42 };
    const first = await submitOk(request);
    await eventsOf(await subscribe('SSE', { jobId: first.id }));
    const asked = upstream.requests.length;
    await usageRecorded(platform, first.id);
    const second = await submitOk(request);
    expect(second).toMatchObject({ status: 'SUCCEEDED', cached: true, output: [0, 1, 2, 3].map(fakeToken).join('') });
    const events = await eventsOf(await subscribe('graphql-ws', { jobId: second.id }));
    expect(tokensOf(events).map((event) => event.text)).toEqual([0, 1, 2, 3].map(fakeToken));
    expect(events.at(-1)).toMatchObject({ __typename: 'InferenceCompletedEvent', cached: true, completionTokens: 4 });
    expect(upstream.requests.length).toBe(asked);
    const metrics = await (await fetch(platform.metricsUrls.inference)).text();
    expect(metrics).toMatch(/^lotabots_inference_live_workers\{service="inference"\} 1$/m);
  });
});
