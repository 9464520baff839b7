import { describe, expect, it } from 'vitest';

import { createLogger } from '../../../lib/logger.js';
import { createBillingSchedule, invoiceLinesFor } from './invoices.js';

const pro = {
  id: 'pro',
  displayName: 'Pro',
  priceCentsPerMonth: 4_900,
  monthlyTokenQuota: 5_000_000,
  tokenQuotaHard: false,
  overageCentsPerThousandTokens: 2,
  monthlyRequestQuota: 2_000_000,
  requestQuotaHard: false,
  overageCentsPerThousandRequests: 10,
};
const free = {
  ...pro,
  id: 'free',
  displayName: 'Free',
  priceCentsPerMonth: 0,
  monthlyTokenQuota: 100_000,
  tokenQuotaHard: true,
  overageCentsPerThousandTokens: 0,
  monthlyRequestQuota: 100_000,
  requestQuotaHard: true,
  overageCentsPerThousandRequests: 0,
};

describe('invoiceLinesFor', () => {
  it('bills the base price and nothing more within the quota', () => {
    const { lines, totalCents } = invoiceLinesFor(pro, { requests: 1_000, tokensIn: 2_000_000, tokensOut: 3_000_000 });
    expect(totalCents).toBe(4_900);
    expect(lines).toEqual([
      { kind: 'BASE', description: 'Pro plan', quantity: 1, unitPriceCents: 4_900, amountCents: 4_900 },
      { kind: 'INCLUDED_TOKENS', description: 'Tokens included (5000000 per month)', quantity: 5_000_000, unitPriceCents: 0, amountCents: 0 },
    ]);
  });

  it('bills each started 1,000 tokens beyond the quota at the overage price, in integer cents', () => {
    expect(invoiceLinesFor(pro, { requests: 1_000, tokensIn: 5_000_000, tokensOut: 1 }).lines[2]).toEqual({
      kind: 'TOKEN_OVERAGE',
      description: 'Tokens beyond the quota, per started 1000',
      quantity: 1,
      unitPriceCents: 2,
      amountCents: 2,
    });
    const { lines, totalCents } = invoiceLinesFor(pro, { requests: 1_000, tokensIn: 5_000_000, tokensOut: 1_234_567 });
    expect(lines[2]).toMatchObject({ quantity: 1_235, amountCents: 2_470 });
    expect(totalCents).toBe(7_370);
    for (const line of lines) expect(line.quantity * line.unitPriceCents).toBe(line.amountCents);
    // Sums beyond 32-bit figures stay exact (BigInt inside).
    const huge = invoiceLinesFor({ ...pro, monthlyTokenQuota: 0 }, { requests: 0, tokensIn: 2_000_000_000, tokensOut: 2_000_000_000 });
    expect(huge.totalCents).toBe(4_900 + 4_000_000 * 2);
  });

  it('bills each started 1,000 requests beyond a soft request quota, after the token overage', () => {
    const { lines, totalCents } = invoiceLinesFor(pro, { requests: 2_000_001, tokensIn: 5_000_000, tokensOut: 1_500 });
    expect(lines.slice(2)).toEqual([
      { kind: 'TOKEN_OVERAGE', description: 'Tokens beyond the quota, per started 1000', quantity: 2, unitPriceCents: 2, amountCents: 4 },
      { kind: 'REQUEST_OVERAGE', description: 'Requests beyond the quota, per started 1000', quantity: 1, unitPriceCents: 10, amountCents: 10 },
    ]);
    expect(totalCents).toBe(4_900 + 4 + 10);
    expect(invoiceLinesFor(pro, { requests: 2_500_000, tokensIn: 0, tokensOut: 0 })).toMatchObject({
      lines: [{ kind: 'BASE' }, { kind: 'INCLUDED_TOKENS', quantity: 0 }, { kind: 'REQUEST_OVERAGE', quantity: 500, amountCents: 5_000 }],
      totalCents: 9_900,
    });
  });

  it('bills no overage beyond a hard quota, whatever its overage price', () => {
    const { lines, totalCents } = invoiceLinesFor(free, { requests: 250_000, tokensIn: 500_000, tokensOut: 0 });
    expect(totalCents).toBe(0);
    expect(lines.map((line) => line.kind)).toEqual(['BASE', 'INCLUDED_TOKENS']);
    const priced = { ...free, overageCentsPerThousandTokens: 3, overageCentsPerThousandRequests: 7 };
    expect(invoiceLinesFor(priced, { requests: 250_000, tokensIn: 500_000, tokensOut: 0 }).totalCents).toBe(0);
    // Each quota on its own: a soft request quota beside a hard token quota bills requests only.
    const mixed = invoiceLinesFor({ ...priced, requestQuotaHard: false }, { requests: 250_000, tokensIn: 500_000, tokensOut: 0 });
    expect(mixed.lines.slice(2)).toEqual([expect.objectContaining({ kind: 'REQUEST_OVERAGE', quantity: 150, amountCents: 1_050 })]);
    expect(mixed.totalCents).toBe(1_050);
  });

  it('writes a zero-priced line for a soft quota without an overage price', () => {
    const { lines, totalCents } = invoiceLinesFor({ ...free, tokenQuotaHard: false }, { requests: 0, tokensIn: 500_000, tokensOut: 0 });
    expect(totalCents).toBe(0);
    expect(lines[2]).toMatchObject({ kind: 'TOKEN_OVERAGE', quantity: 400, amountCents: 0 });
  });
});

describe('createBillingSchedule', () => {
  const logger = createLogger({ name: 'test', level: 'silent' });

  it('closes the last ended period once its grace hour has passed, at start and on each tick', async () => {
    let now = new Date('2026-12-01T00:30:00.000Z');
    const closed: string[] = [];
    let ticked: () => void = () => {};
    const schedule = createBillingSchedule({
      intervalMs: 10,
      clock: { now: () => now },
      logger,
      closePeriod: async (period) => {
        closed.push(`${period.start.toISOString()} ${period.end.toISOString()}`);
        ticked();
      },
    });
    schedule.start();
    // Within the grace hour nothing closes; after it, November does, on every tick (idempotent).
    now = new Date('2026-12-01T01:00:00.000Z');
    await new Promise<void>((resolve) => (ticked = resolve));
    await schedule.stop();
    expect(closed[0]).toBe('2026-11-01T00:00:00.000Z 2026-12-01T00:00:00.000Z');
    expect(new Set(closed).size).toBe(1);
  });

  it('is off with an interval of 0', async () => {
    const closed: unknown[] = [];
    const schedule = createBillingSchedule({ intervalMs: 0, clock: { now: () => new Date('2026-12-15T00:00:00Z') }, logger, closePeriod: async (p) => closed.push(p) });
    schedule.start();
    await schedule.stop();
    expect(closed).toEqual([]);
  });
});
