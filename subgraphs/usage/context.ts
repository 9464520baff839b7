import type { Principal } from '../../lib/auth/principal.js';

/** Per-request context of the usage subgraph. */
export interface UsageContext {
  /** The caller, as vouched for by the gateway's signed identity header. */
  principal: Principal;
}
