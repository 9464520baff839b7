import { ALERT_FIRING, ALERT_RESOLVED, type StoredAlert } from '../../data/alerts-repository.js';
import type { AlertTransitionKind } from './alert-messages.js';

/** One `alertEvents` event: an alert and what just happened to it. */
export interface AlertEvent {
  kind: AlertTransitionKind;
  alert: StoredAlert;
}

/** The event as published on `aiops:alerts` (dates as ISO text, the position as a decimal string). */
export function serializeAlertEvent(event: AlertEvent): string {
  return JSON.stringify({ kind: event.kind, alert: { ...event.alert, seq: event.alert.seq.toString() } });
}

const isDate = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The event a message carries, or null when it is not one (logged and skipped by the hub). */
export function parseAlertEvent(payload: string): AlertEvent | null {
  const { kind, alert: a } = JSON.parse(payload) as { kind?: unknown; alert?: Record<string, unknown> };
  if ((kind !== 'RAISED' && kind !== 'RESOLVED') || !a) return null;
  if (typeof a.id !== 'string' || typeof a.seq !== 'string' || !/^\d{1,19}$/.test(a.seq) || typeof a.metric !== 'string') return null;
  if ((a.state !== ALERT_FIRING && a.state !== ALERT_RESOLVED) || typeof a.severity !== 'string') return null;
  if (!isNumber(a.value) || !isNumber(a.baseline) || !isNumber(a.threshold) || !isDate(a.startedAt)) return null;
  return {
    kind,
    alert: {
      id: a.id,
      seq: BigInt(a.seq),
      metric: a.metric,
      firingMetric: a.state === ALERT_FIRING ? a.metric : null,
      state: a.state,
      severity: a.severity,
      value: a.value,
      baseline: a.baseline,
      threshold: a.threshold,
      startedAt: new Date(a.startedAt),
      resolvedAt: isDate(a.resolvedAt) ? new Date(a.resolvedAt) : null,
      resolvedValue: isNumber(a.resolvedValue) ? a.resolvedValue : null,
    },
  };
}
