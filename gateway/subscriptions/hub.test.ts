import type { ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';

import { createEventQueue } from '../../lib/live/event-queue.js';
import { createSubscriptionHub, type HubItem } from './hub.js';

const overflow = (): ExecutionResult => ({ errors: [] });

/** A hub with one upstream the test feeds by hand. */
function hubWithUpstream() {
  const hub = createSubscriptionHub({ maxQueuedEvents: 10, overflow });
  const upstream = createEventQueue<ExecutionResult>();
  const opened = { count: 0 };
  return { hub, upstream, opened, open: () => (opened.count++, upstream) };
}

const dataOf = (item: IteratorResult<HubItem>) => (item.value?.kind === 'event' ? item.value.event.result.data : undefined);

describe('subscription hub: subscribers joining a shared upstream', () => {
  it('gives a joiner of a snapshot topic the latest event at once, then what follows', async () => {
    const { hub, upstream, opened, open } = hubWithUpstream();
    const first = hub.listen('topic', open, { replayLatest: true });
    upstream.push({ data: { n: 1 } });
    upstream.push({ data: { n: 2 } });
    expect(dataOf(await first.next())).toEqual({ n: 1 });
    expect(dataOf(await first.next())).toEqual({ n: 2 });

    const joiner = hub.listen('topic', open, { replayLatest: true });
    expect(joiner.buffered).toBe(1);
    expect(dataOf(await joiner.next())).toEqual({ n: 2 });
    upstream.push({ data: { n: 3 } });
    expect(dataOf(await joiner.next())).toEqual({ n: 3 });
    expect(opened.count).toBe(1);
    first.end();
    joiner.end();
  });

  it('replays nothing before the first event, nor ever for an event stream', async () => {
    for (const replayLatest of [true, false]) {
      const { hub, upstream, open } = hubWithUpstream();
      const first = hub.listen('topic', open, { replayLatest });
      expect(hub.listen('topic', open, { replayLatest }).buffered).toBe(0);
      upstream.push({ data: { n: 1 } });
      expect(dataOf(await first.next())).toEqual({ n: 1 });
      const late = hub.listen('topic', open, { replayLatest });
      expect(late.buffered).toBe(replayLatest ? 1 : 0);
      upstream.end();
    }
  });
});
