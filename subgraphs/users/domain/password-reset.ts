import type { Clock } from '../../../lib/clock.js';
import { badUserInput } from '../../../lib/errors.js';
import type { UsersStore } from '../data/store.js';
import { BEARER_SECRET_PATTERN, newBearerSecret, sha256Hex } from './bearer-secrets.js';
import type { BruteForceLimits } from './brute-force-limits.js';
import { normaliseEmail } from './emails.js';
import { checkPasswordPolicy, hashPassword } from './passwords.js';
import type { Sessions } from './sessions.js';

const RESET_TOKEN_PATTERN = new RegExp(`^${BEARER_SECRET_PATTERN}$`);

const invalidResetToken = () => badUserInput('Invalid or expired reset token', { field: 'token' });

function resetEmail(link: URL, ttlSeconds: number) {
  const minutes = Math.max(1, Math.round(ttlSeconds / 60));
  return {
    subject: 'Reset your LotaBots password',
    body: [
      'Someone asked to reset the password of your LotaBots account.',
      `To choose a new password, open this link within ${minutes} minute${minutes === 1 ? '' : 's'}; it works once:`,
      '',
      link.toString(),
      '',
      'If it was not you, ignore this email: your password stays as it is.',
    ].join('\n'),
  };
}

/** Password reset by emailed single-use link (the email goes to the outbox table). */
export function createPasswordReset(deps: {
  store: UsersStore;
  sessions: Sessions;
  limits: BruteForceLimits;
  clock: Clock;
  ttlSeconds: number;
  /** The web page that takes the token from `?token=`. */
  resetUrl: string;
}) {
  const { store, clock } = deps;
  return {
    /** Sends a link when the account exists; says nothing either way. */
    async request(rawEmail: string, clientIp: string): Promise<void> {
      const email = normaliseEmail(rawEmail);
      await deps.limits.consume('password-reset:ip', clientIp);
      await deps.limits.consume('password-reset:account', email);
      const user = await store.users.findByEmail(email);
      if (!user) return;
      const token = newBearerSecret();
      const link = new URL(deps.resetUrl);
      link.searchParams.set('token', token);
      const expiresAt = new Date(clock.now().getTime() + deps.ttlSeconds * 1000);
      await store.transaction(async (tx) => {
        await tx.passwordResets.create({ userId: user.id, tokenHash: sha256Hex(token), expiresAt });
        await tx.outbox.enqueue({ recipient: user.email, kind: 'password-reset', ...resetEmail(link, deps.ttlSeconds) });
      });
    },

    /**
     * Sets the new password, uses up every outstanding link of the account and ends all its
     * sessions. The policy is checked before the token is used, so a rejected password does
     * not burn the link.
     */
    async reset(token: string, newPassword: string): Promise<void> {
      const reset = RESET_TOKEN_PATTERN.test(token) ? await store.passwordResets.findUsable(sha256Hex(token), clock.now()) : null;
      const user = reset ? await store.users.findById(reset.userId) : null;
      if (!reset || !user) throw invalidResetToken();
      checkPasswordPolicy(newPassword, user.email);
      const passwordHash = await hashPassword(newPassword);
      await deps.sessions.endAllOf(user.id, async (tx) => {
        const now = clock.now();
        if (!(await tx.passwordResets.redeem(reset.id, now))) throw invalidResetToken();
        await tx.passwordResets.voidAllOfUser(user.id, now);
        await tx.users.setPasswordHash(user.id, passwordHash);
      });
    },
  };
}

export type PasswordReset = ReturnType<typeof createPasswordReset>;
