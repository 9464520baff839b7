import { describe, expect, it } from 'vitest';

import { createLogger } from '../../../lib/logger.js';
import { createBillingSchedule, invoiceLinesFor } from './invoices.js';

const pro = { id: 'pro', displayName: 'Pro', priceCentsPerMonth: 4_900, monthlyTokenQuota: 5_000_000, overageCentsPerThousandTokens: 2 };

describe('invoiceLinesFor', () => {
  it('bills the base price and nothing more within the quota', () => {
    const { lines, totalCents } = invoiceLinesFor(pro, { tokensIn: 2_000_000, tokensOut: 3_000_000 });
    expect(totalCents).toBe(4_900);
    expect(lines).toEqual([
      { kind: 'BASE', description: 'Pro plan', quantity: 1, unitPriceCents: 4_900, amountCents: 4_900 },
      { kind: 'INCLUDED_TOKENS', description: 'Tokens included (5000000 per month)', quantity: 5_000_000, unitPriceCents: 0, amountCents: 0 },
    ]);
  });

  it('bills each started 1,000 tokens beyond the quota at the overage price, in integer cents', () => {
    expect(invoiceLinesFor(pro, { tokensIn: 5_000_000, tokensOut: 1 }).lines[2]).toEqual({
      kind: 'TOKEN_OVERAGE',
      description: 'Tokens beyond the quota, per started 1000',
      quantity: 1,
      unitPriceCents: 2,
      amountCents: 2,
    });
    const { lines, totalCents } = invoiceLinesFor(pro, { tokensIn: 5_000_000, tokensOut: 1_234_567 });
    expect(lines[2]).toMatchObject({ quantity: 1_235, amountCents: 2_470 });
    expect(totalCents).toBe(7_370);
    for (const line of lines) expect(line.quantity * line.unitPriceCents).toBe(line.amountCents);
    // Sums beyond 32-bit figures stay exact (BigInt inside).
    const huge = invoiceLinesFor({ ...pro, monthlyTokenQuota: 0 }, { tokensIn: 2_000_000_000, tokensOut: 2_000_000_000 });
    expect(huge.totalCents).toBe(4_900 + 4_000_000 * 2);
  });

  it('bills no overage on a plan without an overage price', () => {
    const free = { ...pro, id: 'free', displayName: 'Free', priceCentsPerMonth: 0, monthlyTokenQuota: 100_000, overageCentsPerThousandTokens: 0 };
    const { lines, totalCents } = invoiceLinesFor(free, { tokensIn: 500_000, tokensOut: 0 });
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
