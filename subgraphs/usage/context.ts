/** Per-request context of the usage subgraph. */
export interface UsageContext {
  /** The caller's user id as vouched for by the gateway, or null when anonymous. */
  userId: string | null;
}
