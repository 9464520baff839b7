import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';

import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type FakeSlack, rateLimited, startFakeSlack } from '../../../../test/fake-slack.js';
import { within } from '../../../../test/within.js';
import { createSlackNotifier, retryAfterSeconds, type SlackNotifierOptions, type SlackOutcome } from './slack.js';

const message = (text: string) => ({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });

describe('the Slack webhook notifier, against a server speaking Slack’s webhook contract', () => {
  let slack: FakeSlack;
  let lines: string[];
  let outcomes: SlackOutcome[];
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    slack = await startFakeSlack();
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
    await slack?.close();
  });
  beforeEach(() => {
    slack.messages.length = 0;
    slack.requests.length = 0;
    lines = [];
    outcomes = [];
  });

  const notifier = (options: Partial<SlackNotifierOptions> = {}) => {
    const logger = pino(new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(String(chunk)), done()) }));
    const created = createSlackNotifier({
      webhookUrl: slack.webhookUrl,
      logger,
      maxPerMinute: 6_000,
      maxAttempts: 3,
      timeoutMs: 10_000,
      backoffMs: 10,
      onOutcome: (outcome) => outcomes.push(outcome),
      ...options,
    });
    stops.push(() => created.stop());
    return created;
  };

  it('posts {text, blocks} as JSON and sends each key once', async () => {
    const sender = notifier();
    expect(sender.notify('a1:RAISED', message('raised'))).toBe(true);
    expect(sender.notify('a1:RAISED', message('raised again'))).toBe(false);
    expect(sender.notify('a1:RESOLVED', message('resolved'))).toBe(true);
    await within(sender.idle(), 30_000, 'messages sent');
    expect(slack.messages.map((m) => m.text)).toEqual(['raised', 'resolved']);
    expect(slack.messages[0]!.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: 'raised' } }]);
    expect(outcomes).toEqual(['sent', 'sent']);
  });

  it('waits out a 429’s Retry-After, then delivers the message and the resolve after it, in order', async () => {
    const sender = notifier();
    slack.answerNext(rateLimited(1), rateLimited(1));
    const started = performance.now();
    sender.notify('a2:RAISED', message('raised'));
    sender.notify('a2:RESOLVED', message('resolved'));
    await within(sender.idle(), 30_000, 'messages sent');
    expect(slack.messages.map((m) => m.text)).toEqual(['raised', 'resolved']);
    expect(slack.requests.map((r) => r.status)).toEqual([429, 429, 200, 200]);
    // Each retry came no sooner than the second the 429 asked for.
    expect(slack.requests[1]!.at - slack.requests[0]!.at).toBeGreaterThanOrEqual(990);
    expect(slack.requests[2]!.at - slack.requests[1]!.at).toBeGreaterThanOrEqual(990);
    expect(slack.messages[0]!.at - started).toBeGreaterThanOrEqual(1_980);
    // A 429 is not a failure: three attempts allowed, yet both messages got through.
    expect(outcomes).toEqual(['sent', 'sent']);
  });

  it('retries a 5xx with backoff and gives up after maxAttempts, then goes on with the next message', async () => {
    const sender = notifier({ maxAttempts: 2 });
    slack.answerNext({ status: 500, body: 'internal_error' }, { status: 503, body: 'service_unavailable' }, { status: 500, body: 'internal_error' });
    sender.notify('a3:RAISED', message('lost'));
    sender.notify('a3:RESOLVED', message('after the loss'));
    await within(sender.idle(), 30_000, 'messages handled');
    // Two attempts of the first (500, 503), the second's first attempt 500, its retry 200.
    expect(slack.requests.map((r) => r.status)).toEqual([500, 503, 500, 200]);
    expect(slack.messages.map((m) => m.text)).toEqual(['after the loss']);
    expect(outcomes).toEqual(['failed', 'sent']);
  });

  it('gives up at once on 400 invalid_payload and logs why without the webhook URL', async () => {
    const sender = notifier();
    sender.notify('a4:RAISED', { text: undefined as unknown as string, blocks: undefined as unknown as unknown[] });
    sender.notify('a4:RESOLVED', message('fine'));
    await within(sender.idle(), 30_000, 'messages handled');
    expect(slack.requests.map((r) => r.status)).toEqual([400, 200]);
    expect(outcomes).toEqual(['rejected', 'sent']);
    const refused = lines.map((line) => JSON.parse(line) as { msg: string; key?: string; reason?: string }).find((line) => line.key === 'a4:RAISED');
    expect(refused).toMatchObject({ msg: 'slack refused the alert message; not retried', reason: 'HTTP 400 invalid_payload' });
    const secret = new URL(slack.webhookUrl).pathname;
    for (const line of lines) expect(line).not.toContain(secret.split('/').at(-1));
  });

  it('logs network failures without the URL', async () => {
    const sender = notifier({ webhookUrl: `http://127.0.0.1:1/services/T1/B1/not-to-be-logged`, maxAttempts: 2 });
    sender.notify('a5:RAISED', message('unreachable'));
    await within(sender.idle(), 30_000, 'message given up');
    expect(outcomes).toEqual(['failed']);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toContain('not-to-be-logged');
  });

  it('keeps to maxPerMinute by spacing messages, dropping none', async () => {
    const sender = notifier({ maxPerMinute: 120 });
    const started = performance.now();
    for (const n of [1, 2, 3]) sender.notify(`a6:${n}`, message(`m${n}`));
    await within(sender.idle(), 30_000, 'messages sent');
    expect(slack.messages.map((m) => m.text)).toEqual(['m1', 'm2', 'm3']);
    // 120 per minute: one sent every 500 ms, so the third leaves a second after the first at
    // the earliest (measured from before the first was queued: arrival times jitter).
    expect(slack.messages[1]!.at - started).toBeGreaterThanOrEqual(490);
    expect(slack.messages[2]!.at - started).toBeGreaterThanOrEqual(990);
  });

  it('lets queued messages go out within the grace it is given at stop', async () => {
    const sender = notifier();
    for (const n of [1, 2, 3]) sender.notify(`a7:${n}`, message(`s${n}`));
    await sender.stop(30_000);
    expect(slack.messages.map((m) => m.text)).toEqual(['s1', 's2', 's3']);
    expect(sender.notify('a7:4', message('after stop'))).toBe(false);
  });

  it('drops (and counts) what the grace does not cover', async () => {
    // One message a minute: the second waits its turn when stop comes.
    const sender = notifier({ maxPerMinute: 1 });
    sender.notify('a8:1', message('first'));
    sender.notify('a8:2', message('waiting'));
    // The sender has its answer (the server's record comes before the client reads it).
    await within(
      (async () => {
        while (!outcomes.includes('sent')) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      30_000,
      'first message sent',
    );
    await sender.stop(0);
    expect(slack.messages.map((m) => m.text)).toEqual(['first']);
    expect(outcomes).toEqual(['sent', 'dropped']);
  });

  it('reads Retry-After as seconds or an HTTP date, and falls back to 1 s', () => {
    expect(retryAfterSeconds('30')).toBe(30);
    expect(retryAfterSeconds(null)).toBe(1);
    expect(retryAfterSeconds('soon')).toBe(1);
    expect(retryAfterSeconds(new Date(10_000).toUTCString(), 0)).toBe(10);
    expect(retryAfterSeconds('100000')).toBe(300);
  });
});
