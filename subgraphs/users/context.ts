/** Per-request context of the users subgraph. */
export interface UsersContext {
  /** The caller's user id as vouched for by the gateway, or null when anonymous. */
  userId: string | null;
}
