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
      const passwordHash = await hashPassword(input.password);
      // The account and its first session together, or neither: a client that sees an error
      // can register again, and no account exists that its owner never got a session for.
      return store.transaction(async (tx) => sessions.start(await tx.users.create({ email, displayName, passwordHash }), tx));
    },

    /**
     * Unknown email and wrong password fail with the same error after the same work: a
     * password check against a dummy hash stands in for the missing account's.
     *
     * Limits (OWASP authentication cheat sheet): every attempt counts against the client IP
     * (across accounts); failed ones count against the account as tried from this address
     * (the tight limit, which a stranger elsewhere cannot exhaust for the owner) and against
     * the account from anywhere (a high ceiling against guessing spread over many addresses,
     * with a progressive delay on the way). Each attempt is counted before the password is
     * checked, so parallel guesses cannot slip past a limit, and taken back when it succeeds;
     * success from an address also clears that address's failures on the account.
     */
    async login(input: { email: string; password: string }, clientIp: string): Promise<AuthPayload> {
      const email = normaliseEmail(input.email);
      const fromHere = JSON.stringify([email, clientIp]); // unambiguous, whatever either contains
      await limits.consumeAll([
        ['login:ip', clientIp],
        ['login:account-ip', fromHere],
        ['login:account', email],
      ]);
      await limits.slowDown('login:account', email);
      const account = await store.users.findCredentialsByEmail(email);
      const valid = await verifyPassword(input.password, account?.passwordHash ?? (await dummyPasswordHash()));
      if (!account || !valid) throw invalidCredentials();
      await Promise.all([limits.reset('login:account-ip', fromHere), limits.release('login:account', email)]);
      return sessions.start(withoutHash(account));
    },

    /**
     * A wrong current password is BAD_USER_INPUT, not UNAUTHENTICATED: the session is fine,
     * and clients treat UNAUTHENTICATED as "sign in again". A wrong one counts against the
     * account's login ceiling, since it is a password guess too.
     */
    async changePassword(userId: string, input: { currentPassword: string; newPassword: string }): Promise<AuthPayload> {
      const account = await store.users.findCredentialsById(userId);
      if (!account) throw unauthenticated();
      await limits.consume('login:account', account.email);
      if (!(await verifyPassword(input.currentPassword, account.passwordHash))) {
        throw badUserInput('Current password is incorrect', { field: 'currentPassword' });
      }
      await limits.release('login:account', account.email);
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
