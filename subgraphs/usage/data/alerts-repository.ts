import type { Alert } from './__generated__/prisma/client.js';
import { isUniqueViolation, type UsagePrisma } from './database.js';

export type StoredAlert = Alert;

export const ALERT_FIRING = 'FIRING';
export const ALERT_RESOLVED = 'RESOLVED';
export type AlertState = typeof ALERT_FIRING | typeof ALERT_RESOLVED;

export interface NewAlert {
  metric: string;
  severity: string;
  value: number;
  baseline: number;
  threshold: number;
  startedAt: Date;
}

/**
 * The `Alert` table. Transitions are single conditional statements, so replicas that watch the
 * same figures agree: one open alert per metric (the unique `firingMetric`), and only the
 * writer whose statement changed a row learns it did (and announces it).
 */
export function createAlertsRepository(prisma: UsagePrisma) {
  async function raise(alert: NewAlert): Promise<{ alert: StoredAlert; created: boolean }> {
    try {
      return { alert: await prisma.alert.create({ data: { ...alert, state: ALERT_FIRING, firingMetric: alert.metric } }), created: true };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const open = await prisma.alert.findUnique({ where: { firingMetric: alert.metric } });
      // Resolved between the two statements: this sample's incident is a new one.
      if (!open) return raise(alert);
      return { alert: open, created: false };
    }
  }
  return {
    /** Every FIRING alert (at most one per metric), to resume watching after a restart. */
    open: () => prisma.alert.findMany({ where: { state: ALERT_FIRING }, orderBy: { seq: 'asc' } }),
    /**
     * Opens an alert for its metric; when one is open already (another replica raised it, or
     * this one before a restart) nothing is written and that one is returned with `created: false`.
     */
    raise,
    /** Resolves the metric's open alert; null when none is open (another replica resolved it first). */
    async resolve(metric: string, value: number, at: Date): Promise<StoredAlert | null> {
      const [resolved] = await prisma.alert.updateManyAndReturn({
        where: { firingMetric: metric },
        data: { state: ALERT_RESOLVED, firingMetric: null, resolvedAt: at, resolvedValue: value },
      });
      return resolved ?? null;
    },
    /** Up to `limit` alerts, newest first, after position `after` (exclusive), of `state` or any. */
    page: (state: AlertState | null, limit: number, after: bigint | null) =>
      prisma.alert.findMany({
        where: { ...(state ? { state } : {}), ...(after !== null ? { seq: { lt: after } } : {}) },
        orderBy: { seq: 'desc' },
        take: limit,
      }),
  };
}

export type AlertsRepository = ReturnType<typeof createAlertsRepository>;
