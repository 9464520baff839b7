import type { RevocationListener } from '../auth/revocation-notices.js';
import type { GatewaySubscriptions } from './index.js';

/**
 * Ends the open subscriptions of a session or API key the moment the users subgraph revokes
 * it (logout, refresh-token reuse, password change or reset, key revocation): a long-lived
 * stream must not outlive its credential. New operations are refused by authentication.
 */
export function endRevokedSubscriptions(subscriptions: Pick<GatewaySubscriptions, 'endSubscriptionsOf'>): RevocationListener {
  return {
    noticed(notice) {
      const sessions = new Set(notice.sessionIds ?? []);
      const keys = new Set(notice.apiKeyIds ?? []);
      subscriptions.endSubscriptionsOf(
        (principal) => (principal.sessionId !== null && sessions.has(principal.sessionId)) || (principal.apiKeyId !== null && keys.has(principal.apiKeyId)),
        'The credentials of this subscription were revoked',
      );
    },
  };
}
