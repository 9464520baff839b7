import type { InvoiceLine } from '../domain/invoices.js';
import { Prisma } from './__generated__/prisma/client.js';
import { isUniqueViolation, type UsagePrisma } from './database.js';

/** An invoice as stored: `lines` is the JSON array of InvoiceLine written when the period closed. */
export interface StoredInvoice {
  id: string;
  userId: string;
  periodStart: Date;
  periodEnd: Date;
  planId: string;
  currency: string;
  amountCents: number;
  status: string;
  lines: InvoiceLine[];
  createdAt: Date;
}

/** What closing a period writes for one user. */
export interface NewInvoice {
  userId: string;
  periodStart: Date;
  periodEnd: Date;
  planId: string;
  amountCents: number;
  lines: InvoiceLine[];
}

/** A closed invoice's status. */
export const INVOICE_CLOSED = 'CLOSED';

const toStored = (row: Prisma.InvoiceGetPayload<object>): StoredInvoice => ({ ...row, lines: row.lines as unknown as InvoiceLine[] });

export function createInvoicesRepository(prisma: UsagePrisma) {
  return {
    /**
     * Writes the invoice and, when export is on, its outbox entry (the exact body to send) in
     * one transaction. Idempotent: when the user's invoice for the period exists already (a
     * second close, or another replica closing at the same time: the unique constraint on
     * user and period decides) nothing is written and the existing invoice is returned.
     */
    async createOnce(invoice: NewInvoice, exportBody: ((stored: StoredInvoice) => string) | null): Promise<{ invoice: StoredInvoice; created: boolean }> {
      const existing = await prisma.invoice.findUnique({ where: { userId_periodStart: { userId: invoice.userId, periodStart: invoice.periodStart } } });
      if (existing) return { invoice: toStored(existing), created: false };
      try {
        const created = await prisma.$transaction(async (tx) => {
          const row = toStored(
            await tx.invoice.create({
              data: { ...invoice, status: INVOICE_CLOSED, lines: invoice.lines as unknown as Prisma.InputJsonValue },
            }),
          );
          if (exportBody) await tx.billingExportOutbox.create({ data: { invoiceId: row.id, body: exportBody(row) } });
          return row;
        });
        return { invoice: created, created: true };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const winner = await prisma.invoice.findUniqueOrThrow({ where: { userId_periodStart: { userId: invoice.userId, periodStart: invoice.periodStart } } });
        return { invoice: toStored(winner), created: false };
      }
    },
    async byId(id: string): Promise<StoredInvoice | null> {
      const row = await prisma.invoice.findUnique({ where: { id } });
      return row ? toStored(row) : null;
    },
    /** A user's invoices, newest period first. */
    async ofUser(userId: string, first: number): Promise<StoredInvoice[]> {
      const rows = await prisma.invoice.findMany({ where: { userId }, orderBy: { periodStart: 'desc' }, take: first });
      return rows.map(toStored);
    },
    /** Users on a plan of their own (an Account row), with it: billed even without usage. */
    accountsWithPlans: () => prisma.account.findMany({ include: { plan: true } }),
    planById: (id: string) => prisma.plan.findUnique({ where: { id } }),
  };
}

export type InvoicesRepository = ReturnType<typeof createInvoicesRepository>;
