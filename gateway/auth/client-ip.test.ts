import { describe, expect, it } from 'vitest';

import { clientIp } from './client-ip.js';

describe('clientIp', () => {
  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For claims', () => {
    expect(clientIp('203.0.113.1', '10.0.0.5', 0)).toBe('10.0.0.5');
  });

  it('takes the entry that many hops from the right behind trusted proxies', () => {
    expect(clientIp('198.51.100.9, 203.0.113.1', '10.0.0.5', 1)).toBe('203.0.113.1');
    expect(clientIp('198.51.100.9, 203.0.113.1, 10.0.0.7', '10.0.0.5', 2)).toBe('203.0.113.1');
  });

  it('reads repeated headers as one chain (raw Node header maps)', () => {
    expect(clientIp(['198.51.100.9', '203.0.113.1'], '10.0.0.5', 1)).toBe('203.0.113.1');
  });

  it('falls back to the socket peer when the chain is shorter than the trusted hops', () => {
    expect(clientIp(null, '10.0.0.5', 1)).toBe('10.0.0.5');
    expect(clientIp('203.0.113.1', '10.0.0.5', 2)).toBe('10.0.0.5');
    expect(clientIp(undefined, undefined, 1)).toBeNull();
  });
});
