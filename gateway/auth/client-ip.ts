/**
 * The client's address, the same way for every transport (HTTP, SSE, multipart, and the
 * WebSocket upgrade request): the socket's peer, or, behind `trustedProxyHops` proxies, the
 * X-Forwarded-For entry that many hops from the right (each proxy appends the address it
 * saw; entries further left were written by the client and prove nothing). A chain shorter
 * than the trusted hops falls back to the socket's peer.
 */
export function clientIp(forwardedFor: string | string[] | null | undefined, socketAddress: string | null | undefined, trustedProxyHops: number): string | null {
  const socket = socketAddress ?? null;
  if (trustedProxyHops === 0) return socket;
  // Node joins repeated X-Forwarded-For headers with ", "; an array arrives only from raw header maps.
  const joined = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
  const chain = joined.split(',').map((s) => s.trim()).filter(Boolean);
  return chain[chain.length - trustedProxyHops] ?? socket;
}
