import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { Accounts } from '../domain/accounts.js';
import type { PasswordReset } from '../domain/password-reset.js';
import type { RevocationCache } from '../domain/revocation-cache.js';
import type { Sessions } from '../domain/sessions.js';
import { clientIpOf, requireService, requireUserSession } from './guards.js';

export function authResolvers(deps: { accounts: Accounts; sessions: Sessions; passwordReset: PasswordReset; revocations: RevocationCache }): Resolvers {
  const { accounts, sessions, passwordReset, revocations } = deps;
  return {
    Query: {
      _sessionRevoked(_parent, { sessionId }, { principal }) {
        requireService(principal);
        return revocations.isRevoked(sessionId);
      },
    },
    Mutation: {
      register: (_parent, { input }, { principal }) => accounts.register(input, clientIpOf(principal)),
      login: (_parent, { input }, { principal }) => accounts.login(input, clientIpOf(principal)),
      refreshToken: (_parent, { refreshToken }) => sessions.refresh(refreshToken),
      async logout(_parent, { refreshToken }) {
        await sessions.end(refreshToken);
        return true;
      },
      changePassword: (_parent, { input }, { principal }) => accounts.changePassword(requireUserSession(principal), input),
      async requestPasswordReset(_parent, { email }, { principal }) {
        await passwordReset.request(email, clientIpOf(principal));
        return true;
      },
      async resetPassword(_parent, { input }) {
        await passwordReset.reset(input.token, input.newPassword);
        return true;
      },
    },
  };
}
