import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Paths whose values never reach a log line, whatever logs them: credentials, tokens and
 * anything shaped like a password.
 */
const REDACTED_PATHS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'refreshToken',
  'accessToken',
  'apiKey',
  'secret',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.refreshToken',
  '*.accessToken',
  '*.apiKey',
  '*.secret',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'variables.*',
];

export function createLogger(options: { name: string; level: string }): Logger {
  return pino({ name: options.name, level: options.level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}
