import type { Redis } from '../redis.js';
import { GATEWAY_METRICS_SET, gatewayMetricsKey } from './keys.js';

/** One gateway instance's live figures over its recent window. */
export interface GatewayMetricsSnapshot {
  /** When the instance computed them. */
  at: Date;
  requestsPerSecond: number;
  /** Share of operations that ended with errors, 0..1. */
  errorRate: number;
  p95LatencyMs: number;
  openSubscriptions: number;
}

/**
 * @default 10 // s a snapshot lives without a refresh: a gateway that stops publishing
 * (crashed, partitioned) drops out of the platform figures within this.
 */
export const GATEWAY_METRICS_TTL_SECONDS = 10;

/** Publishes an instance's snapshot and registers it in the set of gateways, atomically. */
export async function writeGatewayMetrics(redis: Redis, instanceId: string, snapshot: GatewayMetricsSnapshot): Promise<void> {
  const key = gatewayMetricsKey(instanceId);
  const results = await redis
    .multi()
    .hset(key, {
      at: snapshot.at.toISOString(),
      requestsPerSecond: String(snapshot.requestsPerSecond),
      errorRate: String(snapshot.errorRate),
      p95LatencyMs: String(snapshot.p95LatencyMs),
      openSubscriptions: String(snapshot.openSubscriptions),
    })
    .expire(key, GATEWAY_METRICS_TTL_SECONDS)
    .sadd(GATEWAY_METRICS_SET, instanceId)
    .exec();
  for (const [error] of results ?? []) if (error) throw error;
}

/** Takes an instance out of the figures at once (on clean shutdown). */
export async function removeGatewayMetrics(redis: Redis, instanceId: string): Promise<void> {
  await redis.multi().del(gatewayMetricsKey(instanceId)).srem(GATEWAY_METRICS_SET, instanceId).exec();
}

/**
 * The snapshots of every live gateway. Members of the set whose hash has expired are
 * removed (the set itself never expires, so the readers keep it clean).
 */
export async function readGatewayMetrics(redis: Redis): Promise<Map<string, GatewayMetricsSnapshot>> {
  const instanceIds = await redis.smembers(GATEWAY_METRICS_SET);
  const snapshots = new Map<string, GatewayMetricsSnapshot>();
  if (instanceIds.length === 0) return snapshots;
  const pipeline = redis.pipeline();
  for (const id of instanceIds) pipeline.hgetall(gatewayMetricsKey(id));
  const results = (await pipeline.exec()) ?? [];
  const stale: string[] = [];
  instanceIds.forEach((id, index) => {
    const [error, hash] = results[index] ?? [null, null];
    if (error) throw error;
    const snapshot = parseSnapshot(hash as Record<string, string> | null);
    if (snapshot) snapshots.set(id, snapshot);
    else stale.push(id);
  });
  if (stale.length > 0) await redis.srem(GATEWAY_METRICS_SET, ...stale);
  return snapshots;
}

function parseSnapshot(hash: Record<string, string> | null): GatewayMetricsSnapshot | null {
  if (!hash || Object.keys(hash).length === 0) return null;
  const number = (field: string) => {
    const value = Number(hash[field]);
    return Number.isFinite(value) && value >= 0 ? value : 0;
  };
  const at = new Date(hash.at ?? '');
  return {
    at: Number.isNaN(at.getTime()) ? new Date(0) : at,
    requestsPerSecond: number('requestsPerSecond'),
    errorRate: Math.min(1, number('errorRate')),
    p95LatencyMs: number('p95LatencyMs'),
    openSubscriptions: Math.round(number('openSubscriptions')),
  };
}
