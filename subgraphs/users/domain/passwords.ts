import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';

import { badUserInput } from '../../../lib/errors.js';

/**
 * Password policy (NIST SP 800-63B): 10 to 128 characters, not only whitespace, and not
 * containing the account's email local part. No composition rules: length beats symbols.
 */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

export function checkPasswordPolicy(password: string, email: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw badUserInput(`Password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`, { field: 'password' });
  }
  if (password.trim() === '') throw badUserInput('Password must not be only whitespace', { field: 'password' });
  const localPart = email.split('@')[0]!.toLowerCase();
  if (localPart.length >= 4 && password.toLowerCase().includes(localPart)) {
    throw badUserInput('Password must not contain the email address', { field: 'password' });
  }
}

// scrypt with N=2^15, r=8, p=1: 32 MiB and about 50-100 ms per hash on one core, the
// OWASP minimum for interactive logins. The parameters are stored with each hash so they
// can be raised later without invalidating existing passwords.
const DEFAULT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function deriveKey(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 128 * params.N * params.r * 2 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N$r$p$<salt b64>$<key b64>` */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await deriveKey(password, salt, DEFAULT_PARAMS);
  const { N, r, p } = DEFAULT_PARAMS;
  return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, N, r, p, salt, key] = encoded.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await deriveKey(password, Buffer.from(salt, 'base64'), { N: Number(N), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * A hash of a random password, verified against when an email is unknown so that the
 * response takes as long as for a wrong password.
 */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}
