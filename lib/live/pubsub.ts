import type { Logger } from '../logger.js';
import type { Redis } from '../redis.js';
import { createEventQueue, type EventQueueOptions } from './event-queue.js';

/**
 * The channel name Redis sees: the client's `keyPrefix` + `channel`. ioredis prefixes keys
 * but never channel names, so without this two deployments (or two test files) sharing a
 * Redis would hear each other's messages.
 */
export function prefixedChannel(redis: Redis, channel: string): string {
  return `${redis.options.keyPrefix ?? ''}${channel}`;
}

/** Publishes on `channel` (unprefixed name) through an ordinary connection. */
export function publishLive(redis: Redis, channel: string, message: string): Promise<number> {
  return redis.publish(prefixedChannel(redis, channel), message);
}

export interface LiveListener {
  /** Each message published on the channel while listening. Must not throw (errors are logged). */
  message(payload: string): void;
  /** The hub closed (shutdown): no more messages will come. */
  closed?(): void;
  /** The subscriber connection dropped: what is published from now until `resumed` is lost. */
  interrupted?(): void;
  /** Subscribed again after `interrupted`: every message published from now on arrives. */
  resumed?(): void;
}

export interface LiveHub {
  /**
   * Starts calling `listener` for messages on `channel` (unprefixed). Resolves once Redis
   * has confirmed the subscription, so every message published after that arrives; rejects
   * when Redis cannot be reached. Resolves to the function that stops listening (idempotent;
   * the Redis subscription is dropped with the channel's last listener).
   */
  listen(channel: string, listener: LiveListener): Promise<() => Promise<void>>;
  /**
   * `listen` as an async iterator of parsed messages, for a subscription resolver. Messages
   * `parse` rejects (returns null or throws) are logged and skipped. Ending the iterator
   * (`return()`) stops listening; closing the hub ends it.
   */
  iterate<T>(channel: string, parse: (payload: string) => T | null, options?: Pick<EventQueueOptions<T>, 'maxBuffered'>): Promise<AsyncIterableIterator<T>>;
  /** Listeners of `channel`, or of all channels. */
  listenerCount(channel?: string): number;
  /** Ends every listener and closes the subscriber connection. */
  close(): Promise<void>;
}

interface ChannelState {
  listeners: Set<LiveListener>;
  /** Settles when Redis has answered this state's SUBSCRIBE. */
  subscribed: Promise<void>;
}

/**
 * Redis pub/sub for one process: a single subscriber connection (a connection in subscriber
 * mode can run nothing else, hence `redis.duplicate()`), opened on the first `listen`, and
 * any number of in-process listeners fanned out from it. A channel is SUBSCRIBEd with its
 * first listener and UNSUBSCRIBEd with its last. After a lost connection ioredis reconnects
 * and resubscribes on its own; messages published meanwhile are lost, as pub/sub is
 * at-most-once by nature (live views only; durable events go through streams).
 *
 * Works on the in-process stand-in too: ioredis-mock delivers PUBLISH to subscribers of
 * any client in the same process.
 */
export function createLiveHub(redis: Redis, logger: Logger): LiveHub {
  const channels = new Map<string, ChannelState>();
  let subscriber: Promise<Redis> | null = null;
  let closed = false;

  const tellListeners = (event: 'interrupted' | 'resumed') => {
    for (const state of channels.values()) for (const listener of state.listeners) listener[event]?.();
  };

  const connectSubscriber = (): Promise<Redis> => {
    subscriber ??= (async () => {
      // Same server, options and key prefix; only this connection enters subscriber mode.
      const connection = redis.duplicate();
      connection.on('error', (error: unknown) => logger.warn({ err: error }, 'live pub/sub connection error'));
      let interrupted = false;
      connection.on('close', () => {
        if (interrupted || closed) return;
        interrupted = true;
        tellListeners('interrupted');
      });
      connection.on('ready', () => {
        if (!interrupted) return;
        // ioredis re-sent the SUBSCRIBEs before 'ready': once this PING is answered, Redis has
        // taken them. Should the connection drop again first, the next 'ready' tries again.
        connection.ping().then(
          () => {
            if (!interrupted || closed || connection.status !== 'ready') return;
            interrupted = false;
            tellListeners('resumed');
          },
          () => {},
        );
      });
      connection.on('message', (channel: string, payload: string) => {
        const state = channels.get(channel);
        if (!state) return;
        for (const listener of state.listeners) {
          try {
            listener.message(payload);
          } catch (error) {
            logger.error({ err: error, channel }, 'live listener failed');
          }
        }
      });
      if (connection.status === 'wait') {
        try {
          await connection.connect();
        } catch (error) {
          connection.disconnect();
          throw error;
        }
      }
      return connection;
    })();
    // A failed connect is retried by the next listen, not cached.
    subscriber.catch(() => {
      subscriber = null;
    });
    return subscriber;
  };

  const remove = async (channel: string, state: ChannelState, listener: LiveListener) => {
    state.listeners.delete(listener);
    if (state.listeners.size > 0 || channels.get(channel) !== state) return;
    channels.delete(channel);
    const wasSubscribed = await state.subscribed.then(
      () => true,
      () => false,
    );
    // A listener that arrived meanwhile made a new state whose SUBSCRIBE went out after
    // ours; unsubscribing now would silence it. Commands on one connection run in order,
    // so when no new state exists yet, any later SUBSCRIBE follows this UNSUBSCRIBE.
    if (!wasSubscribed || closed || channels.has(channel) || !subscriber) return;
    const connection = await subscriber;
    if (channels.has(channel)) return;
    await connection.unsubscribe(channel).catch((error: unknown) => logger.warn({ err: error, channel }, 'live unsubscribe failed'));
  };

  const hub: LiveHub = {
    async listen(name, listener) {
      if (closed) throw new Error('the live hub is closed');
      const channel = prefixedChannel(redis, name);
      let state = channels.get(channel);
      if (!state) {
        const subscribed = connectSubscriber().then(async (connection) => {
          await connection.subscribe(channel);
        });
        state = { listeners: new Set(), subscribed };
        channels.set(channel, state);
      }
      state.listeners.add(listener);
      const current = state;
      try {
        await current.subscribed;
      } catch (error) {
        await remove(channel, current, listener);
        throw error;
      }
      let stopped = false;
      return async () => {
        if (stopped) return;
        stopped = true;
        await remove(channel, current, listener);
      };
    },

    async iterate<T>(channel: string, parse: (payload: string) => T | null, options: Pick<EventQueueOptions<T>, 'maxBuffered'> = {}) {
      // eslint-disable-next-line prefer-const -- onEnd may run before listen() resolves, where a const would throw
      let stop: (() => Promise<void>) | undefined;
      const queue = createEventQueue<T>({
        maxBuffered: options.maxBuffered,
        onDrop: () => logger.warn({ channel }, 'live consumer too slow: oldest message dropped'),
        onEnd: () => stop?.(),
      });
      stop = await hub.listen(channel, {
        message(payload) {
          let value;
          try {
            value = parse(payload);
          } catch (error) {
            logger.warn({ err: error, channel }, 'live message skipped: cannot parse');
            return;
          }
          if (value === null) logger.warn({ channel }, 'live message skipped: unexpected shape');
          else queue.push(value);
        },
        closed: () => queue.end(),
      });
      return queue;
    },

    listenerCount(name) {
      if (name !== undefined) return channels.get(prefixedChannel(redis, name))?.listeners.size ?? 0;
      let count = 0;
      for (const state of channels.values()) count += state.listeners.size;
      return count;
    },

    async close() {
      if (closed) return;
      closed = true;
      const states = [...channels.values()];
      channels.clear();
      for (const state of states) for (const listener of state.listeners) listener.closed?.();
      const connection = await subscriber?.catch(() => null);
      connection?.disconnect();
    },
  };
  return hub;
}
