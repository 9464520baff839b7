import { DATA_ADMIN_SCOPES, visibleRecord } from '../../../lib/auth/ownership.js';
import type { Clock } from '../../../lib/clock.js';
import { badUserInput, forbidden } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import type { BillingPeriodClosingResolvers, InvoiceResolvers, MutationResolvers, QueryResolvers } from '../__generated__/resolvers-types.js';
import type { InvoicesRepository } from '../data/invoices-repository.js';
import { monthOf, parsePeriodName, periodName } from '../domain/billing-period.js';
import type { PeriodClosing } from '../domain/invoices.js';
import { subjectUserOf } from './usage.js';

/** @default 100 // most invoices one `invoices` call returns (eight years of months). */
export const MAX_INVOICES = 100;

/** `invoices`, `invoice(id)`, `closeBillingPeriod` and the `Invoice` fields. */
export function createInvoiceResolvers(deps: {
  invoices: InvoicesRepository;
  clock: Clock;
  closePeriod: (period: { start: Date; end: Date }) => Promise<PeriodClosing>;
}): {
  Query: Pick<QueryResolvers, 'invoices' | 'invoice'>;
  Mutation: Pick<MutationResolvers, 'closeBillingPeriod'>;
  Invoice: InvoiceResolvers;
  BillingPeriodClosing: BillingPeriodClosingResolvers;
} {
  return {
    Query: {
      async invoices(_parent, { userId, first }, { principal }) {
        if (first < 0 || first > MAX_INVOICES) throw badUserInput(`first must be between 0 and ${MAX_INVOICES}`, { argumentName: 'first' });
        return deps.invoices.ofUser(subjectUserOf(principal, userId, 'Invoices'), first);
      },
      async invoice(_parent, { id }, { principal }) {
        const invoice = isUuid(id) ? await deps.invoices.byId(id) : null;
        return visibleRecord(principal, invoice, (record) => record.userId, DATA_ADMIN_SCOPES.usage, 'Invoice');
      },
    },
    Mutation: {
      async closeBillingPeriod(_parent, { period }, { principal }) {
        if (!principal.scopes.includes(DATA_ADMIN_SCOPES.usage)) throw forbidden(`Requires scope ${DATA_ADMIN_SCOPES.usage}`);
        const named = parsePeriodName(period);
        if (!named) throw badUserInput('period must be a month, YYYY-MM', { argumentName: 'period' });
        if (named.end.getTime() > monthOf(deps.clock.now()).start.getTime()) {
          throw badUserInput('only a period that has ended can be closed', { argumentName: 'period' });
        }
        return deps.closePeriod(named);
      },
    },
    Invoice: {
      user: (invoice) => ({ id: invoice.userId }),
      period: (invoice) => periodName(invoice.periodStart),
      plan: (invoice) => deps.invoices.planById(invoice.planId),
      totalCents: (invoice) => invoice.amountCents,
      closedAt: (invoice) => invoice.createdAt,
    },
    BillingPeriodClosing: {
      period: (closing) => periodName(closing.period.start),
      invoiceCount: (closing) => closing.invoices.length,
      createdCount: (closing) => closing.created,
    },
  };
}
