import { type RevocationNotice, REVOCATIONS_CHANNEL } from '../../lib/auth/revocation.js';
import type { LiveHub } from '../../lib/live/pubsub.js';
import type { Logger } from '../../lib/logger.js';

/** What acts on the users subgraph's revocation notices. */
export interface RevocationListener {
  noticed(notice: RevocationNotice): void;
  /** Whether notices are heard now: false from a dropped pub/sub connection until it is subscribed again. */
  hearing?(heard: boolean): void;
}

/**
 * Hands every revocation notice (`auth:revocations`) to `listeners`, and tells them when
 * notices may be missed (the connection dropped, the hub closed) and heard again. Resolves,
 * once subscribed, to the function that stops.
 */
export async function watchRevocations(hub: LiveHub, listeners: readonly RevocationListener[], logger: Logger): Promise<() => Promise<void>> {
  /** False from a dropped connection until it is subscribed again, also when it drops before `listen` resolves. */
  let connected = true;
  const hearing = (heard: boolean) => {
    for (const listener of listeners) listener.hearing?.(heard);
  };
  const stop = await hub.listen(REVOCATIONS_CHANNEL, {
    message(payload) {
      let notice: RevocationNotice;
      try {
        notice = JSON.parse(payload) as RevocationNotice;
      } catch {
        logger.warn('ignored a malformed revocation notice');
        return;
      }
      for (const listener of listeners) listener.noticed(notice);
    },
    interrupted: () => {
      connected = false;
      hearing(false);
    },
    resumed: () => {
      connected = true;
      hearing(true);
    },
    closed: () => hearing(false),
  });
  if (connected) hearing(true);
  return async () => {
    hearing(false);
    await stop();
  };
}
