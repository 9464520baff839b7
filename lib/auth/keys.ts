import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { type CryptoKey, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI, type JWK } from 'jose';

import { ConfigError } from '../config.js';

/** Access tokens are signed with ECDSA P-256 (ES256): small signatures, asymmetric, fast to verify. */
export const ACCESS_TOKEN_ALG = 'ES256';

export interface SigningKeys {
  keyId: string;
  privateKey: CryptoKey | null;
  publicKey: CryptoKey;
  /** The public key as a JWK with `kid`, `alg` and `use`, for a JWKS document. */
  publicJwk: JWK;
}

export interface KeySource {
  /** PEM from config (PKCS#8 private, SPKI public); the private one is only needed to sign. */
  privateKeyPem?: string | undefined;
  publicKeyPem?: string | undefined;
  keyId?: string | undefined;
  /** Where development keys are generated and kept (never in production, never committed). */
  devKeyDir: string;
  production: boolean;
}

/**
 * Access-token keys from config. Outside production, with none configured, a key pair is
 * generated once into `devKeyDir` (mode 0600) and reused, so tokens survive restarts and
 * separately started processes on one machine agree.
 */
export async function loadSigningKeys(source: KeySource, needPrivate: boolean): Promise<SigningKeys> {
  let privatePem = source.privateKeyPem?.replaceAll('\\n', '\n');
  let publicPem = source.publicKeyPem?.replaceAll('\\n', '\n');
  let keyId = source.keyId;
  if (!publicPem && !privatePem) {
    if (source.production) throw new ConfigError('invalid configuration: JWT_PUBLIC_KEY: required in production (PEM)');
    ({ privatePem, publicPem, keyId } = await developmentKeyPair(source.devKeyDir));
  }
  if (needPrivate && !privatePem) throw new ConfigError('invalid configuration: JWT_PRIVATE_KEY: required to issue tokens (PKCS#8 PEM)');
  try {
    const privateKey = privatePem ? await importPKCS8(privatePem, ACCESS_TOKEN_ALG, { extractable: true }) : null;
    const publicKey = publicPem
      ? await importSPKI(publicPem, ACCESS_TOKEN_ALG, { extractable: true })
      : await importSPKI(await publicPemOf(privateKey!), ACCESS_TOKEN_ALG, { extractable: true });
    const kid = keyId ?? 'lotabots-1';
    return { keyId: kid, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALG, use: 'sig' } };
  } catch (error) {
    throw new ConfigError(`invalid configuration: JWT_PRIVATE_KEY/JWT_PUBLIC_KEY: not a P-256 key in PEM (${(error as Error).message})`);
  }
}

async function publicPemOf(privateKey: CryptoKey): Promise<string> {
  const jwk = await exportJWK(privateKey);
  delete jwk.d;
  const { importJWK } = await import('jose');
  return exportSPKI((await importJWK(jwk, ACCESS_TOKEN_ALG)) as CryptoKey);
}

async function developmentKeyPair(dir: string): Promise<{ privatePem: string; publicPem: string; keyId: string }> {
  const file = path.join(dir, 'jwt-es256.json');
  const existing = await readFile(file, 'utf8').then((s) => JSON.parse(s) as { privatePem: string; publicPem: string; keyId: string }, () => null);
  if (existing) return existing;
  const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable: true });
  const pair = { privatePem: await exportPKCS8(privateKey), publicPem: await exportSPKI(publicKey), keyId: `dev-${randomBytes(4).toString('hex')}` };
  // Another process may have generated one meanwhile; everyone uses whichever landed first.
  return (await writeSecretFileOnce(file, JSON.stringify(pair))) ? pair : JSON.parse(await readFile(file, 'utf8'));
}

/**
 * The secret that signs identity headers (at least 32 bytes). Outside production, with none
 * configured, one is generated once into `devKeyDir`.
 */
export async function loadIdentitySecret(source: { secret?: string | undefined; devKeyDir: string; production: boolean }): Promise<Uint8Array> {
  if (source.secret) {
    if (source.secret.length < 32) throw new ConfigError('invalid configuration: IDENTITY_SIGNING_SECRET: must be at least 32 characters');
    return new TextEncoder().encode(source.secret);
  }
  if (source.production) throw new ConfigError('invalid configuration: IDENTITY_SIGNING_SECRET: required in production');
  const file = path.join(source.devKeyDir, 'identity-secret');
  let secret = await readFile(file, 'utf8').catch(() => null);
  if (!secret) {
    const generated = randomBytes(32).toString('base64url');
    secret = (await writeSecretFileOnce(file, generated)) ? generated : await readFile(file, 'utf8');
  }
  return new TextEncoder().encode(secret.trim());
}

/** Creates `file` (mode 0600) unless it exists; false when another process got there first. */
async function writeSecretFileOnce(file: string, content: string): Promise<boolean> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, content, { mode: 0o600, flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
