import type { Plugin } from 'graphql-yoga';

import type { IdentitySigner } from '../../lib/auth/identity-header.js';
import type { Principal } from '../../lib/auth/principal.js';
import { connectionPrincipalOf } from '../../lib/graphql-ws-server.js';
import { thenMaybe } from '../../lib/maybe-promise.js';
import type { Authenticator } from './authenticator.js';
import { clientIp } from './client-ip.js';

/** What `useAuth` adds to every operation's context. */
export interface AuthContext {
  principal: Principal;
  /**
   * The signed identity header to forward to a subgraph fetch now. A function, not a value:
   * a subscription fetches entities for each event long after it started, when a header
   * signed at the start would have expired.
   */
  identityHeader: () => Promise<string>;
}

/**
 * Authenticates each request once, before parsing work is spent on it, and signs the
 * identity the subgraphs will trust, with the client address from `clientIp` (the socket's
 * peer, or X-Forwarded-For behind `trustedProxyHops` proxies).
 */
export function useAuth(authenticator: Authenticator, identity: IdentitySigner, trustedProxyHops: number): Plugin<AuthContext> {
  return {
    onContextBuilding({ context, extendContext }) {
      const extendWith = (principal: Principal) => extendContext({ principal, identityHeader: () => identity.current(principal) });
      // Over WebSocket the connection authenticated once, at connection_init.
      const connectionPrincipal = connectionPrincipalOf(context);
      if (connectionPrincipal) return extendWith(connectionPrincipal);
      const request = (context as unknown as { request: Request }).request;
      const socketAddress = (context as unknown as { req?: { socket?: { remoteAddress?: string } } }).req?.socket?.remoteAddress ?? null;
      const principal = authenticator.authenticate(request.headers, clientIp(request.headers.get('x-forwarded-for'), socketAddress, trustedProxyHops));
      // No promise when there was none to wait on (anonymous): the pipeline then goes on at once.
      return thenMaybe(principal, extendWith);
    },
  };
}
