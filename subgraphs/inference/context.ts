/** Per-request context of the inference subgraph. */
export interface InferenceContext {
  /** The caller's user id as vouched for by the gateway, or null when anonymous. */
  userId: string | null;
}
