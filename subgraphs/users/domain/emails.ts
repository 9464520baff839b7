import { badUserInput } from '../../../lib/errors.js';

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** RFC 5321's limit on a forward path. */
const MAX_EMAIL_LENGTH = 254;

/** Accounts are keyed by the trimmed, lower-cased address, so `Ada@X.com ` and `ada@x.com` are one. */
export const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** Checks a normalised address is plausible; deliverability is proven only by mail. */
export function checkEmail(email: string): void {
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL_PATTERN.test(email)) {
    throw badUserInput('Email address is not valid', { field: 'email' });
  }
}
