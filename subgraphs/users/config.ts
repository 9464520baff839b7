import { z } from 'zod';

import { env, parseEnv } from '../../lib/config.js';
import { serviceEnvSchema } from '../../lib/service.js';
import { SUBGRAPHS } from '../../lib/subgraph-list.js';

/** The users subgraph process's settings (see the README's configuration table). */
export const usersEnvSchema = serviceEnvSchema(SUBGRAPHS.users.port).extend({
  /** PKCS#8 PEM of the ES256 key that signs access tokens (`\n` escapes allowed). Generated in DEV_KEY_DIR outside production. */
  JWT_PRIVATE_KEY: z.string().optional(),
  JWT_PUBLIC_KEY: z.string().optional(),
  /** `kid` header of issued tokens; change it when rotating keys. */
  JWT_KEY_ID: z.string().min(1).optional(),
  /** @default 900 // 15 min: how long a stolen access token stays useful. */
  ACCESS_TOKEN_TTL_SECONDS: env.positiveInt(900),
  /** @default 2_592_000 // 30 days of inactivity before signing in again. */
  REFRESH_TOKEN_TTL_SECONDS: env.positiveInt(2_592_000),
  /** @default 1_800 // 30 min to use an emailed reset link. */
  PASSWORD_RESET_TTL_SECONDS: env.positiveInt(1_800),
  /** The web page a reset email links to; the token is appended as `?token=`. */
  PASSWORD_RESET_URL: z.url().default('https://app.lotabots.example/reset-password'),
  /** Brute-force limits, `max/seconds`: sign-in attempts per client IP, whatever the account. */
  LOGIN_LIMIT_PER_IP: env.rateLimit('20/60'),
  /** Failed sign-ins per account from one client IP: the tight limit, which only that address can use up. */
  LOGIN_LIMIT_PER_ACCOUNT_AND_IP: env.rateLimit('5/300'),
  /** Failed sign-ins per account from anywhere: a ceiling against guessing spread over many addresses. */
  LOGIN_LIMIT_PER_ACCOUNT: env.rateLimit('100/3600'),
  REGISTER_LIMIT_PER_IP: env.rateLimit('10/3600'),
  PASSWORD_RESET_LIMIT_PER_IP: env.rateLimit('10/3600'),
  PASSWORD_RESET_LIMIT_PER_ACCOUNT: env.rateLimit('3/3600'),
});

export type UsersConfig = z.output<typeof usersEnvSchema>;

export function loadUsersConfig(environment: Record<string, string | undefined>): UsersConfig {
  return parseEnv(usersEnvSchema, environment);
}
