import type { StoredAlert } from '../../data/alerts-repository.js';
import type { SlackMessage } from './slack.js';
import { isWatchedMetric, WATCHED_METRICS } from './watched-metrics.js';

export type AlertTransitionKind = 'RAISED' | 'RESOLVED';

/** The deduplication key of one transition of one alert: each is announced once. */
export const alertMessageKey = (alert: Pick<StoredAlert, 'id'>, kind: AlertTransitionKind) => `${alert.id}:${kind}`;

function describe(metric: string) {
  return isWatchedMetric(metric) ? WATCHED_METRICS[metric] : { label: metric, format: (value: number) => String(value) };
}

/** The Slack message of a raised or resolved alert: `text` for notifications, `blocks` for the channel. */
export function alertMessage(alert: StoredAlert, kind: AlertTransitionKind): SlackMessage {
  const { label, format } = describe(alert.metric);
  const since = alert.startedAt.toISOString();
  const text =
    kind === 'RAISED'
      ? `:rotating_light: ${alert.severity}: ${label} is ${format(alert.value)} (normally ${format(alert.baseline)})`
      : `:white_check_mark: Resolved: ${label} is back to ${format(alert.resolvedValue ?? alert.baseline)} (alert since ${since})`;
  const fields = [
    `*Metric*\n${label}`,
    `*Severity*\n${alert.severity}`,
    `*Value*\n${format(alert.value)}`,
    `*Baseline*\n${format(alert.baseline)}`,
    `*Since*\n${since}`,
    ...(alert.resolvedAt ? [`*Resolved*\n${alert.resolvedAt.toISOString()}`] : []),
  ];
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      { type: 'section', fields: fields.map((field) => ({ type: 'mrkdwn', text: field })) },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `alert ${alert.id}` }] },
    ],
  };
}
