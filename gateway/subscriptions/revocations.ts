import { type RevocationNotice, REVOCATIONS_CHANNEL } from '../../lib/auth/revocation.js';
import type { LiveHub } from '../../lib/live/pubsub.js';
import type { Logger } from '../../lib/logger.js';
import type { GatewaySubscriptions } from './index.js';

/**
 * Ends the open subscriptions of a session or API key the moment the users subgraph revokes
 * it (logout, refresh-token reuse, password change or reset, key revocation): a long-lived
 * stream must not outlive its credential. New operations are refused by authentication.
 */
export async function watchRevocations(
  hub: LiveHub,
  subscriptions: Pick<GatewaySubscriptions, 'endSubscriptionsOf'>,
  logger: Logger,
): Promise<() => Promise<void>> {
  return hub.listen(REVOCATIONS_CHANNEL, {
    message(payload) {
      let notice: RevocationNotice;
      try {
        notice = JSON.parse(payload) as RevocationNotice;
      } catch {
        logger.warn('ignored a malformed revocation notice');
        return;
      }
      const sessions = new Set(notice.sessionIds ?? []);
      const keys = new Set(notice.apiKeyIds ?? []);
      subscriptions.endSubscriptionsOf(
        (principal) => (principal.sessionId !== null && sessions.has(principal.sessionId)) || (principal.apiKeyId !== null && keys.has(principal.apiKeyId)),
        'The credentials of this subscription were revoked',
      );
    },
  });
}
