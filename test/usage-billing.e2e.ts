import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { USAGE_EVENTS_STREAM } from '../lib/live/keys.js';
import { type UsageEvent, usageEventFields } from '../lib/live/usage-events.js';
import { SIGNATURE_HEADER, verifySignature } from '../subgraphs/usage/domain/billing-export.js';
import { monthOf, periodName } from '../subgraphs/usage/domain/billing-period.js';
import { type GraphQLResponse, startTestPlatform, type TestPlatform } from './kit.js';

// Usage reports, invoices and the billing export (issue 18, items 3 and 4), through the
// gateway against real PostgreSQL and Redis, with the billing provider played by a local
// HTTP server that fails the first attempts.

const WAIT_MS = 60_000;
const SECRET = randomBytes(32).toString('hex');
const FAILURES_FIRST = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await sleep(50);
  }
}

/** A billing provider's webhook endpoint: answers 500 to the first FAILURES_FIRST requests, then 200. */
class BillingReceiver {
  readonly requests: Array<{ signature: string; body: string; receivedAt: Date; answered: number }> = [];
  private server: Server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const answered = this.requests.length < FAILURES_FIRST ? 500 : 200;
      this.requests.push({ signature: String(request.headers[SIGNATURE_HEADER.toLowerCase()] ?? ''), body, receivedAt: new Date(), answered });
      response.writeHead(answered).end();
    });
  });
  url = '';
  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/billing`;
  }
  stop() {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const readBody = async (request: IncomingMessage) => {
  let body = '';
  for await (const chunk of request) body += String(chunk);
  return body;
};

const codesOf = (response: GraphQLResponse) => (response.body.errors ?? []).map((error) => error.extensions?.code);

describe('usage reports, invoices and billing export', () => {
  let platform: TestPlatform;
  const receiver = new BillingReceiver();
  const pro = randomUUID();
  const free = randomUUID();
  let asPro: Record<string, string>;
  let asFree: Record<string, string>;
  let asAdmin: Record<string, string>;
  // A period that has ended: two months before this one (the previous may still be in its grace hour).
  const period = monthOf(new Date(monthOf(new Date(monthOf(new Date()).start.getTime() - 1)).start.getTime() - 1));
  const name = periodName(period.start);
  const day = (n: number, hour = 10) => new Date(period.start.getTime() + (n - 1) * 86_400_000 + hour * 3_600_000).toISOString();

  beforeAll(async () => {
    await receiver.start();
    platform = await startTestPlatform({
      usage: {
        BILLING_WEBHOOK_URL: receiver.url,
        BILLING_WEBHOOK_SECRET: SECRET,
        BILLING_EXPORT_POLL_MS: 100,
        BILLING_EXPORT_BACKOFF_MS: 50,
        BILLING_CLOSE_INTERVAL_MS: 0,
      },
    });
    asPro = { authorization: `Bearer ${await platform.tokenFor(pro)}` };
    asFree = { authorization: `Bearer ${await platform.tokenFor(free)}` };
    asAdmin = { authorization: `Bearer ${await platform.tokenFor(randomUUID(), { roles: ['admin'] })}` };
    await platform.db.query(`INSERT INTO usage."Account" ("userId", "planId", "updatedAt") VALUES ($1, 'pro', now())`, [pro]);
    await platform.db.query(`UPDATE usage."Account" SET "createdAt" = $2 WHERE "userId" = $1`, [pro, period.start]);
    // Inference jobs and operations in the period, appended as the gateway and inference do.
    const event = (userId: string, at: string, figures: Partial<UsageEvent>): UsageEvent => ({
      eventId: randomUUID(),
      userId,
      at,
      operationName: null,
      requests: 0,
      tokensIn: 0,
      tokensOut: 0,
      ...figures,
    });
    const events = [
      event(pro, day(2), { eventId: `inference:${randomUUID()}`, tokensIn: 5_000_000, tokensOut: 1_234_567, model: 'lotabots-tiny-cpu', cached: false }),
      event(pro, day(2, 11), { requests: 1, operationName: 'Ask', status: 'ok', estimatedCost: 12, actualCost: 4, latencyMs: 30 }),
      event(pro, day(5), { requests: 1, operationName: 'Ask', status: 'error', estimatedCost: 12, actualCost: 0, latencyMs: 10 }),
      event(free, day(3), { eventId: `inference:${randomUUID()}`, tokensIn: 200, tokensOut: 300, model: 'lotabots-tiny-cpu', cached: true }),
    ];
    for (const e of events) await platform.redis.xadd(USAGE_EVENTS_STREAM, '*', ...usageEventFields(e));
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    await receiver.stop();
  });

  const USAGE = /* GraphQL */ `
    query Usage($period: UsagePeriodInput!, $userId: ID, $granularity: UsageGranularity!) {
      usage(period: $period, userId: $userId) {
        user { id } periodStart periodEnd requests tokensIn tokensOut errors estimatedCost actualCost
        series(granularity: $granularity) { start end requests tokensIn tokensOut errors }
      }
    }
  `;
  const usageOf = (headers: Record<string, string>, variables: Record<string, unknown>) =>
    platform.query(USAGE, { period: { start: period.start.toISOString(), end: period.end.toISOString() }, granularity: 'DAY', ...variables }, headers);

  it('reports a period’s totals and a daily or hourly series once the events are aggregated', async () => {
    const report = await until(() => usageOf(asPro, {}), (r) => r.body.data?.usage?.tokensIn === 5_000_000 && r.body.data.usage.requests === 2, 'aggregated usage');
    expect(report.body.errors).toBeUndefined();
    const usage = report.body.data!.usage;
    expect(usage).toMatchObject({ user: { id: pro }, periodStart: period.start.toISOString(), periodEnd: period.end.toISOString() });
    expect(usage).toMatchObject({ requests: 2, tokensIn: 5_000_000, tokensOut: 1_234_567, errors: 1, estimatedCost: 24, actualCost: 4 });
    const days = usage.series as Array<Record<string, any>>;
    expect(days).toHaveLength(Math.round((period.end.getTime() - period.start.getTime()) / 86_400_000));
    expect(days[1]).toEqual({ start: day(2, 0), end: day(3, 0), requests: 1, tokensIn: 5_000_000, tokensOut: 1_234_567, errors: 0 });
    expect(days[4]).toMatchObject({ requests: 1, errors: 1 });
    expect(days.filter((bucket) => bucket.requests > 0 || bucket.tokensIn > 0)).toHaveLength(2);

    const hourly = await usageOf(asPro, { granularity: 'HOUR', period: { start: day(2, 0), end: day(3, 0) } });
    const hours = hourly.body.data!.usage.series as Array<Record<string, any>>;
    expect(hours).toHaveLength(24);
    expect(hours[10]).toMatchObject({ start: day(2, 10), tokensIn: 5_000_000, requests: 0 });
    expect(hours[11]).toMatchObject({ start: day(2, 11), requests: 1 });

    // An admin names the user; the owner may name themselves.
    expect((await usageOf(asAdmin, { userId: pro })).body.data!.usage.tokensOut).toBe(1_234_567);
    expect((await usageOf(asPro, { userId: pro })).body.data!.usage.tokensOut).toBe(1_234_567);
  });

  it('refuses reversed, empty, too long and too fine periods with BAD_USER_INPUT, and someone else’s usage with NOT_FOUND', async () => {
    const bad = [
      { period: { start: period.end.toISOString(), end: period.start.toISOString() } },
      { period: { start: period.start.toISOString(), end: period.start.toISOString() } },
      { period: { start: '2020-01-01T00:00:00Z', end: '2022-01-01T00:00:00Z' } },
      { period: { start: '1970-01-01T00:00:00Z', end: '1970-02-01T00:00:00Z' } },
      { period: { start: '2026-01-01T00:00:00Z', end: '2026-06-01T00:00:00Z' }, granularity: 'HOUR' },
    ];
    for (const variables of bad) {
      const response = await usageOf(asPro, variables);
      expect(codesOf(response), JSON.stringify(variables)).toEqual(['BAD_USER_INPUT']);
      expect(response.body.data?.usage ?? null).toBeNull();
    }
    for (const userId of [pro, 'not-a-uuid', randomUUID()]) {
      const response = await usageOf(asFree, { userId });
      expect(response.body.data?.usage ?? null).toBeNull();
      expect(codesOf(response)).toEqual(['NOT_FOUND']);
    }
    expect(codesOf(await usageOf({}, {}))).toEqual(['UNAUTHENTICATED']);
  });

  const CLOSE = 'mutation Close($period: String!) { closeBillingPeriod(period: $period) { period invoiceCount createdCount } }';
  const INVOICES = /* GraphQL */ `
    query Invoices($userId: ID) {
      invoices(userId: $userId) { id user { id } period periodStart periodEnd plan { id } currency totalCents status closedAt
        lines { kind description quantity unitPriceCents amountCents } }
    }
  `;

  it('closes a period into invoices once (closing again changes nothing), priced in integer cents with overage', async () => {
    await until(() => usageOf(asFree, {}), (r) => r.body.data?.usage?.tokensOut === 300, 'the free user’s usage aggregated');
    expect(codesOf(await platform.query(CLOSE, { period: name }, asPro))).toEqual(['FORBIDDEN']);
    for (const wrong of ['2026-13', 'last month', periodName(monthOf(new Date()).start)]) {
      expect(codesOf(await platform.query(CLOSE, { period: wrong }, asAdmin)), wrong).toEqual(['BAD_USER_INPUT']);
    }
    const first = await platform.query(CLOSE, { period: name }, asAdmin);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data).toEqual({ closeBillingPeriod: { period: name, invoiceCount: 2, createdCount: 2 } });
    const again = await platform.query(CLOSE, { period: name }, asAdmin);
    expect(again.body.data).toEqual({ closeBillingPeriod: { period: name, invoiceCount: 2, createdCount: 0 } });

    const proInvoices = (await platform.query(INVOICES, {}, asPro)).body.data!.invoices;
    expect(proInvoices).toHaveLength(1);
    // 6,234,567 tokens on a 5,000,000 quota: 1,234,567 over, 1,235 started thousands at 2 cents.
    expect(proInvoices[0]).toMatchObject({
      user: { id: pro },
      period: name,
      plan: { id: 'pro' },
      currency: 'usd',
      status: 'CLOSED',
      totalCents: 4_900 + 2_470,
      lines: [
        { kind: 'BASE', quantity: 1, unitPriceCents: 4_900, amountCents: 4_900 },
        { kind: 'INCLUDED_TOKENS', quantity: 5_000_000, unitPriceCents: 0, amountCents: 0 },
        { kind: 'TOKEN_OVERAGE', quantity: 1_235, unitPriceCents: 2, amountCents: 2_470 },
      ],
    });
    const freeInvoices = (await platform.query(INVOICES, {}, asFree)).body.data!.invoices;
    expect(freeInvoices).toEqual([expect.objectContaining({ totalCents: 0, plan: { id: 'free' } })]);
    expect(freeInvoices[0].lines.map((line: { kind: string }) => line.kind)).toEqual(['BASE', 'INCLUDED_TOKENS']);
    const [count] = await platform.db.query<{ n: string }>('SELECT count(*)::text AS n FROM usage."Invoice"');
    expect(Number(count!.n)).toBe(2);

    // invoice(id): its owner and an admin; anyone else as if it did not exist.
    const INVOICE = 'query One($id: ID!) { invoice(id: $id) { id totalCents } }';
    const id = proInvoices[0].id;
    for (const headers of [asPro, asAdmin]) expect((await platform.query(INVOICE, { id }, headers)).body.data).toEqual({ invoice: { id, totalCents: 7_370 } });
    for (const [headers, target] of [[asFree, id], [asFree, randomUUID()], [asFree, 'nope']] as const) {
      const response = await platform.query(INVOICE, { id: target }, headers);
      expect(response.body.data).toEqual({ invoice: null });
      expect(codesOf(response)).toEqual(['NOT_FOUND']);
    }
    for (const first of [-1, 101]) {
      expect(codesOf(await platform.query('query ($first: Int!) { invoices(first: $first) { id } }', { first }, asPro)), `first ${first}`).toEqual(['BAD_USER_INPUT']);
    }
    const othersList = await platform.query(INVOICES, { userId: pro }, asFree);
    expect(othersList.body.data?.invoices ?? null).toBeNull();
    expect(codesOf(othersList)).toEqual(['NOT_FOUND']);
  });

  it('exports each closed invoice to the webhook, signed and retried with backoff until it is acknowledged', async () => {
    const invoiceIds = (await platform.db.query<{ id: string }>('SELECT id::text AS id FROM usage."Invoice" ORDER BY id')).map((row) => row.id);
    const delivered = () => platform.db.query<{ invoiceId: string; attempts: number }>('SELECT "invoiceId"::text AS "invoiceId", attempts FROM usage."BillingExportOutbox" WHERE "deliveredAt" IS NOT NULL');
    await until(delivered, (rows) => rows.length === 2, 'both invoices acknowledged');

    const byInvoice = new Map<string, typeof receiver.requests>();
    for (const request of receiver.requests) {
      expect(verifySignature(request.signature, request.body, SECRET, request.receivedAt), request.signature).toBe(true);
      // Replay-safe: the signature covers the body and the time; another body or a stale time fails.
      expect(verifySignature(request.signature, request.body.replace('"totalCents":', '"totalCents":1'), SECRET, request.receivedAt)).toBe(false);
      expect(verifySignature(request.signature, request.body, SECRET, new Date(request.receivedAt.getTime() + 3_600_000))).toBe(false);
      const id = JSON.parse(request.body).invoice.id as string;
      byInvoice.set(id, [...(byInvoice.get(id) ?? []), request]);
    }
    expect([...byInvoice.keys()].sort()).toEqual(invoiceIds);
    expect(receiver.requests.filter((r) => r.answered === 500)).toHaveLength(FAILURES_FIRST);
    for (const [id, requests] of byInvoice) {
      // Retried until a 2xx, then never again; every attempt sends the same body.
      expect(requests.filter((r) => r.answered === 200), id).toHaveLength(1);
      expect(requests[requests.length - 1]!.answered).toBe(200);
      expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    }
    const body = JSON.parse(receiver.requests.find((r) => r.body.includes(pro))!.body);
    expect(body).toMatchObject({ type: 'invoice.closed', invoice: { userId: pro, period: name, totalCents: 7_370, currency: 'usd' } });
    const attempts = (await delivered()).reduce((sum, row) => sum + row.attempts, 0);
    expect(attempts).toBe(receiver.requests.length);
  });
});
