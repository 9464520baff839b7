import { describe, expect, it } from 'vitest';

import { anonymousPrincipal } from '../../lib/auth/principal.js';
import { loadGatewayConfig } from '../config.js';
import { DEFAULT_RATE_LIMIT_PLANS, subjectOf } from './plans.js';

const pro = { bucketSize: 10, restorePerSecond: 1, requestsPerWindow: 5, windowSeconds: 10 };

describe('rate-limit settings', () => {
  it('defaults: token bucket, fail-open, the documented free/pro/enterprise plans', () => {
    const config = loadGatewayConfig({});
    expect(config).toMatchObject({ RATE_LIMIT_ALGORITHM: 'token-bucket', RATE_LIMIT_REDIS_FAILURE: 'open', RATE_LIMIT_PLANS: DEFAULT_RATE_LIMIT_PLANS });
    expect(Object.keys(config.RATE_LIMIT_PLANS)).toEqual(['free', 'pro', 'enterprise']);
  });

  it('RATE_LIMIT_PLANS is checked at start-up: JSON, a free plan, positive sizes', () => {
    expect(loadGatewayConfig({ RATE_LIMIT_PLANS: JSON.stringify({ free: pro, pro }) }).RATE_LIMIT_PLANS).toEqual({ free: pro, pro });
    expect(() => loadGatewayConfig({ RATE_LIMIT_PLANS: '{free' })).toThrow(/RATE_LIMIT_PLANS.*expected a JSON object/);
    expect(() => loadGatewayConfig({ RATE_LIMIT_PLANS: JSON.stringify({ pro }) })).toThrow(/"free" plan is required/);
    expect(() => loadGatewayConfig({ RATE_LIMIT_PLANS: JSON.stringify({ free: { ...pro, bucketSize: 0 } }) })).toThrow(/free\.bucketSize/);
    expect(() => loadGatewayConfig({ RATE_LIMIT_REDIS_FAILURE: 'maybe' })).toThrow(/RATE_LIMIT_REDIS_FAILURE/);
  });

  it('anonymous callers are limited per client IP; others per user, API key or OIDC subject', () => {
    expect(subjectOf(anonymousPrincipal('2001:db8::1'))).toBe('ip:2001:db8::1');
    expect(subjectOf(anonymousPrincipal(null))).toBe('ip:unknown');
    expect(subjectOf({ ...anonymousPrincipal(null), kind: 'apiKey', subject: 'apiKey:k1' })).toBe('apiKey:k1');
  });
});
