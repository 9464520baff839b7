import { describe, expect, it } from 'vitest';
import { z } from 'zod';

import { ConfigError, parseEnv, redactCredentials } from './config.js';

describe('parseEnv error messages', () => {
  const schema = z.object({ IDENTITY_SIGNING_SECRET: z.string().min(32), PORT: z.coerce.number().int(), AIOPS_SLACK_WEBHOOK_URL: z.url().optional() });
  const messageOf = (env: Record<string, string>) => {
    try {
      parseEnv(schema, env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('regression: never echoes the value of a variable named like a secret', () => {
    const message = messageOf({ IDENTITY_SIGNING_SECRET: 'hunter2-too-short', PORT: '1' });
    expect(message).not.toContain('hunter2');
    expect(message).toMatch(/^invalid configuration: IDENTITY_SIGNING_SECRET: .*\(got a value, not shown\)$/);
    // A Slack webhook's path is its credential, even in a value that is not a URL.
    const slack = messageOf({ IDENTITY_SIGNING_SECRET: 'x'.repeat(32), PORT: '1', AIOPS_SLACK_WEBHOOK_URL: 'hooks.slack.com/services/T0/B0/sekrit' });
    expect(slack).not.toContain('sekrit');
    expect(slack).toMatch(/\(got a value, not shown\)$/);
  });

  it('regression: redacts a URL password before shortening a long value, so no part of it shows', () => {
    const schema = z.object({ DATABASE_URL: z.url() });
    const password = 'p'.repeat(80);
    try {
      parseEnv(schema, { DATABASE_URL: `postgres://lotabots:${password}@db:notaport/x` });
    } catch (error) {
      expect((error as Error).message).not.toContain('ppp');
      expect((error as Error).message).toContain('postgres://lotabots:***@db:notaport/x');
      return;
    }
    throw new Error('expected a ConfigError');
  });

  it('still echoes other values, which says what was wrong', () => {
    expect(messageOf({ IDENTITY_SIGNING_SECRET: 'x'.repeat(32), PORT: 'eighty' })).toMatch(/\(got "eighty"\)$/);
  });
});

describe('redactCredentials', () => {
  it('hides the password of every URL, parseable or not, and keeps the rest', () => {
    expect(redactCredentials('a postgres://u:p%40ss@db:5432/x and redis://:s3cret@redis:6379/0 b')).toBe(
      'a postgres://u:***@db:5432/x and redis://:***@redis:6379/0 b',
    );
    expect(redactCredentials('"postgres://u:hunter2@host:notaport/db"')).toBe('"postgres://u:***@host:notaport/db"');
    expect(redactCredentials('http://host:4000/graphql')).toBe('http://host:4000/graphql');
  });
});
