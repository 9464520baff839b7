import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { backoffAfter, signatureHeader, verifySignature } from './billing-export.js';

const secret = 'a-webhook-secret-of-at-least-32-characters';
const body = '{"type":"invoice.closed","invoice":{"id":"x","totalCents":7370}}';
const at = new Date('2026-12-01T05:00:00.000Z');

describe('the Lotabots-Signature header', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, as Stripe signs', () => {
    const t = Math.floor(at.getTime() / 1000);
    expect(signatureHeader(secret, body, at)).toBe(`t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`);
  });

  it('verifies only the same body, under the same secret, within the tolerance', () => {
    const header = signatureHeader(secret, body, at);
    expect(verifySignature(header, body, secret, at)).toBe(true);
    expect(verifySignature(header, body, secret, new Date(at.getTime() + 299_000))).toBe(true);
    expect(verifySignature(header, body, secret, new Date(at.getTime() + 301_000))).toBe(false); // a replay, later
    expect(verifySignature(header, body.replace('7370', '1'), secret, at)).toBe(false);
    expect(verifySignature(header, body, `${secret}x`, at)).toBe(false);
    expect(verifySignature(header.replace(/t=\d+/, `t=${Math.floor(at.getTime() / 1000) + 1}`), body, secret, at)).toBe(false);
    for (const broken of ['', 't=', 'v1=00', `t=${Math.floor(at.getTime() / 1000)},v1=zz`]) expect(verifySignature(broken, body, secret, at)).toBe(false);
  });
});

describe('backoffAfter', () => {
  it('doubles from the base with each failed attempt, up to the maximum', () => {
    expect([1, 2, 3, 4, 5].map((attempts) => backoffAfter(attempts, 1_000, 10_000))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000]);
    expect(backoffAfter(500, 1_000, 3_600_000)).toBe(3_600_000);
  });
});
