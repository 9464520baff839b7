import { describe, expect, it } from 'vitest';

import { uuidV5 } from './ids.js';

describe('uuidV5', () => {
  it('gives the RFC 9562 name-based UUID (the DNS namespace test vector)', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('is the same for the same pair and differs for another name or namespace', () => {
    const namespace = '3f0c7c3e-8e0b-4c53-9b6c-1d2a6f1f2b10';
    expect(uuidV5(namespace, 'call_1')).toBe(uuidV5(namespace, 'call_1'));
    expect(uuidV5(namespace, 'call_2')).not.toBe(uuidV5(namespace, 'call_1'));
    expect(uuidV5('9a1d7b2e-0c4f-4e8a-8d55-7f3b2c1e0a99', 'call_1')).not.toBe(uuidV5(namespace, 'call_1'));
  });

  it('refuses a namespace that is not a UUID', () => {
    expect(() => uuidV5('job-1', 'call_1')).toThrow(TypeError);
  });
});
