import type { Principal } from '../../lib/auth/principal.js';

/** Per-request context of the inference subgraph. */
export interface InferenceContext {
  /** The caller, as vouched for by the gateway's signed identity header. */
  principal: Principal;
}
