import type { ExecutionArgs, ExecutionResult } from 'graphql';

import type { Principal } from '../../lib/auth/principal.js';
import type { Clock } from '../../lib/clock.js';
import { graphqlError } from '../../lib/errors.js';
import type { EventQueue } from '../../lib/live/event-queue.js';
import type { Logger } from '../../lib/logger.js';
import type { GatewayEngine, SubscriptionPlan } from '../engine/engine.js';
import type { HubItem } from './hub.js';
import type { SubscriptionEnd, SubscriptionMetrics } from './metrics.js';

/** What every open subscription of one gateway shares. */
export interface SubscriptionRuntime {
  /** Open subscriptions; each removes itself when it ends. */
  active: Set<FederatedSubscription>;
  /** Open subscriptions per principal subject (the per-caller limit). */
  openBySubject: Map<string, number>;
  /** Resolves each event's entity fields from the other subgraphs. */
  engine: Pick<GatewayEngine, 'resolveEvent'>;
  metrics: SubscriptionMetrics;
  clock: Clock;
  logger: Logger;
}

/** One subscription operation: what its events run, and how events are shared. */
export interface SubscriptionOperation {
  plan: SubscriptionPlan;
  args: ExecutionArgs;
  /** Equal for identical documents and variables: they share one execution per event. */
  resultKey: string;
}

/**
 * One open subscription, as the stream graphql-ws, SSE or multipart iterate: each upstream
 * event from its queue becomes a result of the whole operation (`executeEvent`). It ends at
 * its deadline (maximum lifetime or its token's expiry, whichever is first), by `end()`, when
 * the upstream ends or fails, or when the client cancels (`return()`).
 *
 * A class, not closures: the gateway holds up to tens of thousands of these, and prototype
 * methods plus one timer (with no closure of its own) keep each small.
 */
export class FederatedSubscription implements AsyncIterableIterator<ExecutionResult> {
  readonly #startedAt: number;
  readonly #deadline: NodeJS.Timeout;
  #endReason: SubscriptionEnd = 'completed';

  constructor(
    readonly principal: Principal,
    private readonly queue: EventQueue<HubItem>,
    private readonly operation: SubscriptionOperation,
    private readonly runtime: SubscriptionRuntime,
    maxLifetimeMs: number,
  ) {
    this.#startedAt = runtime.clock.now().getTime();
    const tokenExpiresAt = principal.credentialExpiresAt ? new Date(principal.credentialExpiresAt).getTime() : Infinity;
    const tokenFirst = tokenExpiresAt < this.#startedAt + maxLifetimeMs;
    this.#deadline = setTimeout(reachDeadline, Math.max(0, tokenFirst ? tokenExpiresAt - this.#startedAt : maxLifetimeMs), this, tokenFirst);
    this.#deadline.unref();
    runtime.active.add(this);
    runtime.openBySubject.set(principal.subject, (runtime.openBySubject.get(principal.subject) ?? 0) + 1);
    runtime.metrics.started();
  }

  /** Ends the subscription with `result` as its last event; `reason` labels its metrics. */
  end(result: ExecutionResult, reason: SubscriptionEnd): void {
    this.queue.push({ kind: 'final', result, reason });
    this.queue.end();
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    const item = await this.queue.next();
    if (item.done) {
      this.#release(this.#endReason);
      return { done: true, value: undefined };
    }
    return { done: false, value: await this.#toResult(item.value) };
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.#release('cancelled');
    await this.queue.return?.();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #release(reason: SubscriptionEnd): void {
    const { runtime, principal } = this;
    if (!runtime.active.delete(this)) return;
    clearTimeout(this.#deadline);
    runtime.metrics.ended(reason, (runtime.clock.now().getTime() - this.#startedAt) / 1000);
    const remaining = (runtime.openBySubject.get(principal.subject) ?? 1) - 1;
    if (remaining === 0) runtime.openBySubject.delete(principal.subject);
    else runtime.openBySubject.set(principal.subject, remaining);
  }

  async #toResult(item: HubItem): Promise<ExecutionResult> {
    if (item.kind === 'final') {
      this.#endReason = item.reason;
      return item.result;
    }
    const { plan, resultKey } = this.operation;
    const subgraph = plan.subgraph;
    if (item.kind === 'failed') {
      this.#endReason = 'upstream_failed';
      this.runtime.logger.warn({ err: item.error, subgraph }, 'upstream subscription failed');
      return { errors: [graphqlError('SUBGRAPH_UNAVAILABLE', `Subgraph "${subgraph}" is unavailable`, { serviceName: subgraph })] };
    }
    let resolved = item.event.resolved.get(resultKey);
    if (!resolved) {
      resolved = this.runtime.engine.resolveEvent(plan, this.operation.args, item.event.result);
      item.event.resolved.set(resultKey, resolved);
    }
    const result = await resolved;
    this.runtime.metrics.delivered((result.errors?.length ?? 0) > 0);
    return result;
  }
}

function reachDeadline(subscription: FederatedSubscription, tokenExpired: boolean): void {
  if (tokenExpired) {
    subscription.end({ errors: [graphqlError('UNAUTHENTICATED', 'The access token expired; subscribe again with a fresh one')] }, 'unauthenticated');
  } else {
    subscription.end({ errors: [graphqlError('SUBSCRIPTION_EXPIRED', 'The subscription reached its maximum lifetime; subscribe again')] }, 'expired');
  }
}
