/** Per-request context of the autonomy subgraph. */
export interface AutonomyContext {
  /** The caller's user id as vouched for by the gateway, or null when anonymous. */
  userId: string | null;
}
