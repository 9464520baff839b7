/**
 * Redis names shared by the processes that produce and consume live data. Keys go through
 * the client's `keyPrefix` like every other key; pub/sub channels do not (ioredis never
 * prefixes channel names), so `lib/live/pubsub.ts` prefixes them itself.
 */

/** Channel with one message per aggregated usage event of one user (a `LiveUsageUpdate` as JSON), published by the usage subgraph after the commit. */
export const usageLiveChannel = (userId: string) => `usage:live:${userId}`;

/** Stream of every usage event (with a unique `eventId`), for the usage aggregator. */
export const USAGE_EVENTS_STREAM = 'usage:events';

/** Set of gateway instance ids that publish live figures; members whose hash expired are stale. */
export const GATEWAY_METRICS_SET = 'metrics:gateways';

/** Hash of one gateway instance's live figures, expiring unless refreshed. */
export const gatewayMetricsKey = (instanceId: string) => `metrics:gateway:${instanceId}`;

/** Counter of output tokens generated platform-wide (INCRBY by the workers). */
export const TOKENS_OUT_COUNTER = 'metrics:tokens:out';

/** Counter of inference jobs ever enqueued platform-wide (INCR by the queue's enqueue); its growth is the arrival rate. */
export const JOBS_ENQUEUED_COUNTER = 'metrics:jobs:enqueued';

/** Channel with one message per raised or resolved AIOps alert (JSON, `subgraphs/usage/domain/aiops/alert-events.ts`), published by the usage subgraph replica that made the change. */
export const AIOPS_ALERTS_CHANNEL = 'aiops:alerts';
