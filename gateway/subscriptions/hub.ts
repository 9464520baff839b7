import type { ExecutionResult } from 'graphql';

import { createEventQueue, type EventQueue } from '../../lib/live/event-queue.js';
import type { SubscriptionEnd } from './metrics.js';

/** One event from an upstream subscription, shared by every listener of its topic. */
export interface UpstreamEvent {
  result: ExecutionResult;
  /** Results already computed for this event, by document; identical subscriptions share one. */
  resolved: Map<string, Promise<ExecutionResult>>;
}

export type HubItem = { kind: 'event'; event: UpstreamEvent } | { kind: 'failed'; error: unknown } | { kind: 'final'; result: ExecutionResult; reason: SubscriptionEnd };

interface Topic {
  key: string;
  listeners: Set<EventQueue<HubItem>>;
  upstream: AsyncIterableIterator<ExecutionResult>;
  /** Whether a listener that joins gets `latest` at once (see `listen`). */
  replaysLatest: boolean;
  /** The upstream's latest event, kept only when `replaysLatest`. */
  latest?: UpstreamEvent;
}

/**
 * Deduplicates upstream subscriptions: every listener of the same topic (same subgraph
 * operation, variables and caller) shares one upstream subscription, opened with the first
 * listener and closed with the last.
 *
 * Sharing must not change what one client sees. A subscriber of a state snapshot stream
 * (`replayLatest`, e.g. `platformMetrics`, whose subgraph emits the current figures at once
 * and then every interval) that joins an upstream already open gets its latest event at
 * once, as it would have from an upstream of its own, instead of waiting for the next tick.
 * Event streams (`usageLive`: one event per operation) replay nothing: an old event would
 * reach the joiner as if it had just happened.
 */
export function createSubscriptionHub(options: { maxQueuedEvents: number; overflow: () => ExecutionResult }) {
  const topics = new Map<string, Topic>();

  function pump(key: string, topic: Topic) {
    void (async () => {
      try {
        for await (const result of { [Symbol.asyncIterator]: () => topic.upstream }) {
          const event: UpstreamEvent = { result, resolved: new Map() };
          if (topic.replaysLatest) topic.latest = event;
          for (const listener of topic.listeners) listener.push({ kind: 'event', event });
        }
        for (const listener of topic.listeners) listener.end();
      } catch (error) {
        for (const listener of topic.listeners) {
          listener.push({ kind: 'failed', error });
          listener.end();
        }
      } finally {
        if (topics.get(key) === topic) topics.delete(key);
      }
    })();
  }

  return {
    listen(requestedKey: string, open: () => AsyncIterableIterator<ExecutionResult>, { replayLatest }: { replayLatest: boolean }): EventQueue<HubItem> {
      let topic = topics.get(requestedKey);
      // The topic's own copy of the key, not the caller's equal one: listeners keep it, and
      // 10,000 listeners of one topic should not keep 10,000 copies of a long string.
      const key = topic?.key ?? requestedKey;
      let overflowed = false;
      const queue: EventQueue<HubItem> = createEventQueue<HubItem>({
        maxBuffered: options.maxQueuedEvents,
        // Events are not dropped silently: a client that falls this far behind is told and ended.
        onDrop: () => {
          if (overflowed) return;
          overflowed = true;
          queueMicrotask(() => {
            queue.push({ kind: 'final', result: options.overflow(), reason: 'overflow' });
            queue.end();
          });
        },
        onEnd: () => {
          const current = topics.get(key);
          if (!current?.listeners.delete(queue) || current.listeners.size > 0) return;
          topics.delete(key);
          void current.upstream.return?.();
        },
      });
      if (topic) {
        topic.listeners.add(queue);
        if (topic.latest) queue.push({ kind: 'event', event: topic.latest });
      } else {
        topic = { key, listeners: new Set([queue]), upstream: open(), replaysLatest: replayLatest };
        topics.set(key, topic);
        pump(key, topic);
      }
      return queue;
    },
  };
}

export type SubscriptionHub = ReturnType<typeof createSubscriptionHub>;
