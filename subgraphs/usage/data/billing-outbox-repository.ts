import type { UsagePrisma } from './database.js';

/** One invoice due to be sent: the exact body stored with it, and how many attempts came before. */
export interface DueExport {
  invoiceId: string;
  body: string;
  attempts: number;
}

/**
 * The billing export outbox. Entries are leased, not locked, while they are sent: claiming
 * pushes `nextAttemptAt` past the attempt's timeout, so another replica does not send the same
 * entry at the same time, and a replica that dies mid-attempt leaves it due again after that.
 */
export function createBillingOutboxRepository(prisma: UsagePrisma) {
  return {
    async claimDue(limit: number, leaseMs: number): Promise<DueExport[]> {
      return prisma.$queryRawUnsafe<DueExport[]>(
        `UPDATE "usage"."BillingExportOutbox" o
         SET "nextAttemptAt" = now() + ($2::int * interval '1 millisecond'), "attempts" = o."attempts" + 1
         WHERE o."invoiceId" IN (
           SELECT "invoiceId" FROM "usage"."BillingExportOutbox"
           WHERE "deliveredAt" IS NULL AND "nextAttemptAt" <= now()
           ORDER BY "nextAttemptAt" LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING o."invoiceId"::text AS "invoiceId", o."body", o."attempts" - 1 AS "attempts"`,
        limit,
        leaseMs,
      );
    },
    delivered: (invoiceId: string) =>
      prisma.billingExportOutbox.update({ where: { invoiceId }, data: { deliveredAt: new Date(), lastError: null } }),
    failed: (invoiceId: string, error: string, retryInMs: number) =>
      prisma.$executeRawUnsafe(
        `UPDATE "usage"."BillingExportOutbox" SET "lastError" = $2, "nextAttemptAt" = now() + ($3::int * interval '1 millisecond') WHERE "invoiceId" = $1::uuid`,
        invoiceId,
        error.slice(0, 500),
        retryInMs,
      ),
  };
}

export type BillingOutboxRepository = ReturnType<typeof createBillingOutboxRepository>;
