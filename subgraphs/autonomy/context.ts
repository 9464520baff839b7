import type { Principal } from '../../lib/auth/principal.js';

/** Per-request context of the autonomy subgraph. */
export interface AutonomyContext {
  /** The caller, as vouched for by the gateway's signed identity header. */
  principal: Principal;
}
