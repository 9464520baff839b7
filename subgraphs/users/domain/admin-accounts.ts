import { randomBytes } from 'node:crypto';

import type { UsersStore } from '../data/store.js';
import { checkEmail, normaliseEmail } from './emails.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';

/** The `admin` role holds every admin scope, `metrics:read` (the dashboard) among them (lib/auth/principal.ts). */
export const ADMIN_ROLES = ['user', 'admin'];

/** The development admin `npm start` makes on embedded defaults when no account is admin. */
export const DEVELOPMENT_ADMIN_EMAIL = 'admin@lotabots.local';

/** 24 characters of base64url (144 bits): far past the password policy and any guessing. */
export const generatePassword = () => randomBytes(18).toString('base64url');

/**
 * Operators' accounts, made without editing the database (`npm run admin`, `npm start`):
 * the same email and password rules as register, with the admin role. An email already
 * registered is CONFLICT: an existing account is never turned into an admin by this path.
 */
export function createAdminAccounts(store: Pick<UsersStore, 'users'>) {
  return {
    async create(input: { email: string; password: string; displayName?: string }) {
      const email = normaliseEmail(input.email);
      checkEmail(email);
      checkPasswordPolicy(input.password, email);
      const user = await store.users.create({ email, displayName: input.displayName ?? 'Administrator', passwordHash: await hashPassword(input.password), roles: ADMIN_ROLES });
      return { id: user.id, email: user.email };
    },
    /** Makes the development admin with a fresh random password when no account is admin; null otherwise. */
    async ensureDevelopmentAdmin(): Promise<{ email: string; password: string } | null> {
      if (await store.users.hasAnyWithRole('admin')) return null;
      const password = generatePassword();
      await this.create({ email: DEVELOPMENT_ADMIN_EMAIL, password, displayName: 'Development admin' });
      return { email: DEVELOPMENT_ADMIN_EMAIL, password };
    },
  };
}
