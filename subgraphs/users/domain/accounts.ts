import { badUserInput, unauthenticated } from '../../../lib/errors.js';
import type { UsersStore } from '../data/store.js';
import type { BruteForceLimits } from './brute-force-limits.js';
import { checkEmail, normaliseEmail } from './emails.js';
import { checkPasswordPolicy, dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import type { AuthPayload, Sessions } from './sessions.js';

const MAX_DISPLAY_NAME_LENGTH = 100;

/** One message for unknown email and wrong password, so sign-in reveals no accounts. */
const invalidCredentials = () => unauthenticated('Invalid email or password');

const samePassword = (a: string, b: string) => a.normalize('NFKC') === b.normalize('NFKC');

/** The account as the rest of the request may see it: without its password hash. */
const withoutHash = <T extends { passwordHash: string }>({ passwordHash: _, ...user }: T) => user;

/** Accounts and their passwords: sign-up, sign-in and password change. */
export function createAccounts(deps: { store: UsersStore; sessions: Sessions; limits: BruteForceLimits }) {
  const { store, sessions, limits } = deps;
  return {
    async register(input: { email: string; password: string; displayName: string }, clientIp: string): Promise<AuthPayload> {
      await limits.consume('register:ip', clientIp);
      const email = normaliseEmail(input.email);
      checkEmail(email);
      const displayName = input.displayName.trim();
      if (displayName.length === 0 || displayName.length > MAX_DISPLAY_NAME_LENGTH) {
        throw badUserInput(`Display name must be 1 to ${MAX_DISPLAY_NAME_LENGTH} characters`, { field: 'displayName' });
      }
      checkPasswordPolicy(input.password, email);
      const user = await store.users.create({ email, displayName, passwordHash: await hashPassword(input.password) });
      return sessions.start(user);
    },

    /**
     * Unknown email and wrong password fail with the same error after the same work: a
     * password check against a dummy hash stands in for the missing account's.
     */
    async login(input: { email: string; password: string }, clientIp: string): Promise<AuthPayload> {
      const email = normaliseEmail(input.email);
      await limits.consume('login:ip', clientIp);
      await limits.consume('login:account', email);
      const account = await store.users.findCredentialsByEmail(email);
      const valid = await verifyPassword(input.password, account?.passwordHash ?? (await dummyPasswordHash()));
      if (!account || !valid) throw invalidCredentials();
      return sessions.start(withoutHash(account));
    },

    /**
     * A wrong current password is BAD_USER_INPUT, not UNAUTHENTICATED: the session is fine,
     * and clients treat UNAUTHENTICATED as "sign in again". It counts against the account's
     * login limit, since it is a password guess too.
     */
    async changePassword(userId: string, input: { currentPassword: string; newPassword: string }): Promise<AuthPayload> {
      const account = await store.users.findCredentialsById(userId);
      if (!account) throw unauthenticated();
      await limits.consume('login:account', account.email);
      if (!(await verifyPassword(input.currentPassword, account.passwordHash))) {
        throw badUserInput('Current password is incorrect', { field: 'currentPassword' });
      }
      checkPasswordPolicy(input.newPassword, account.email);
      if (samePassword(input.currentPassword, input.newPassword)) {
        throw badUserInput('New password must differ from the current one', { field: 'newPassword' });
      }
      const passwordHash = await hashPassword(input.newPassword);
      await sessions.endAllOf(userId, (tx) => tx.users.setPasswordHash(userId, passwordHash));
      return sessions.start(withoutHash(account));
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
