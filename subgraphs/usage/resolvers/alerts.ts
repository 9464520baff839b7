import { connectionOf, pageArguments } from '../../../lib/pages.js';
import type { QueryResolvers } from '../__generated__/resolvers-types.js';
import type { AlertsRepository } from '../data/alerts-repository.js';
import { METRICS_READ_SCOPE, requireScope } from './subscriptions.js';

/** The cursor kind of `alerts` pages (a cursor of another list is BAD_USER_INPUT). */
const ALERT_CURSOR = 'alert';

/** `alerts`: the detector's alerts hold no one's data, so `metrics:read` (admins) is the whole rule. */
export function createAlertResolvers(deps: { alerts: AlertsRepository }): { Query: Pick<QueryResolvers, 'alerts'> } {
  return {
    Query: {
      async alerts(_root, args, { principal }) {
        requireScope(principal, METRICS_READ_SCOPE);
        const page = pageArguments(ALERT_CURSOR, args.first, args.after);
        const rows = await deps.alerts.page(args.state ?? null, page.first + 1, page.after);
        return connectionOf(ALERT_CURSOR, rows, page.first, (row) => row.seq);
      },
    },
  };
}
