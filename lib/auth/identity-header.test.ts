import { randomBytes } from 'node:crypto';

import { describe, expect, it, vi } from 'vitest';

import { createIdentitySigner, IDENTITY_HEADER_CACHE_SIZE } from './identity-header.js';
import { anonymousPrincipal, type Principal } from './principal.js';

// jwtVerify as jose has it, counted: a header verified before must not be verified again.
const { jwtVerify } = vi.hoisted(() => ({ jwtVerify: { calls: 0 } }));
vi.mock('jose', async (importOriginal) => {
  const jose = await importOriginal<typeof import('jose')>();
  return {
    ...jose,
    jwtVerify: (...args: Parameters<typeof jose.jwtVerify>) => {
      jwtVerify.calls++;
      return jose.jwtVerify(...args);
    },
  };
});

const user = (): Principal => ({ ...anonymousPrincipal('127.0.0.1'), kind: 'user', userId: 'u1', subject: 'user:u1' });

describe('identity header', () => {
  it('round-trips a principal, and refuses a header signed with another secret or expired', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const signer = createIdentitySigner(randomBytes(32), () => now);
    const header = await signer.sign(user());
    expect(await signer.verify(header)).toMatchObject({ subject: 'user:u1' });
    expect(await createIdentitySigner(randomBytes(32), () => now).verify(header)).toBeNull();
    now = new Date(now.getTime() + 61_000);
    expect(await signer.verify(header)).toBeNull();
  });

  it('verifies a header once and then only checks its expiry; a forged one is never taken for it', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const signer = createIdentitySigner(randomBytes(32), () => now);
    const header = await signer.sign(user());
    const before = jwtVerify.calls;
    expect(await signer.verify(header)).toMatchObject({ subject: 'user:u1' });
    now = new Date(now.getTime() + 59_999);
    expect(await signer.verify(header)).toMatchObject({ subject: 'user:u1' });
    expect(jwtVerify.calls).toBe(before + 1);
    // Another signature over the same claims, or the header with one character changed, is checked in full and refused.
    const [head, body] = header.split('.');
    expect(await signer.verify(`${head}.${body}.${'A'.repeat(43)}`)).toBeNull();
    expect(await signer.verify(`${header.slice(0, -2)}${header.endsWith('AA') ? 'BB' : 'AA'}`)).toBeNull();
    expect(jwtVerify.calls).toBe(before + 3);
    // Expired at its exp second, as jwtVerify has it, though verified before.
    now = new Date(now.getTime() + 1);
    expect(await signer.verify(header)).toBeNull();
  });

  it('reuses the current header of a principal object for 30 s, then signs a fresh one that a subgraph still accepts', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const signer = createIdentitySigner(randomBytes(32), () => now);
    const principal = user();
    const first = await signer.current(principal);
    now = new Date(now.getTime() + 29_000);
    expect(await signer.current(principal)).toBe(first);

    // A subscription's entity fetch 5 minutes after it started: the header it sends is valid.
    now = new Date(now.getTime() + 300_000);
    const later = await signer.current(principal);
    expect(later).not.toBe(first);
    expect(await signer.verify(first)).toBeNull();
    expect(await signer.verify(later)).toMatchObject({ subject: 'user:u1' });
  });

  it('shares one header between equal principals of different requests, never between different ones', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const signer = createIdentitySigner(randomBytes(32), () => now);
    const first = signer.current(user());
    expect(signer.current(user())).toBe(first);

    const elsewhere = { ...user(), clientIp: '10.0.0.9' };
    const other = await signer.current(elsewhere);
    expect(other).not.toBe(await first);
    expect(await signer.verify(other)).toEqual(elsewhere);
    expect(await signer.verify(await first)).toEqual(user());
  });

  it('keeps at most IDENTITY_HEADER_CACHE_SIZE principals, dropping the one signed longest ago', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const signer = createIdentitySigner(randomBytes(32), () => now);
    const numbered = (n: number): Principal => ({ ...user(), clientIp: `10.0.${n >> 8}.${n & 255}` });
    const first = signer.current(numbered(0));
    const second = signer.current(numbered(1));
    for (let n = 2; n <= IDENTITY_HEADER_CACHE_SIZE; n++) signer.current(numbered(n));
    expect(signer.current(numbered(1))).toBe(second);
    expect(signer.current(numbered(0))).not.toBe(first);
    expect(await signer.verify(await signer.current(numbered(0)))).toEqual(numbered(0));
  });
});
