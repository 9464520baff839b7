import type { DocumentNode, GraphQLSchema } from 'graphql';

import type { Principal } from '../../lib/auth/principal.js';
import { setBounded } from '../../lib/bounded-map.js';
import { type FilterPlan, type OperationRequirements, operationRequirements, planFilter } from './plan.js';
import { type AuthorizationRequirements, type CallerView, checkRequirement } from './requirements.js';

/**
 * @default 32 // distinct callers' scope sets remembered per document: enough for every
 * role and key profile in use; beyond it the oldest plan is dropped and recomputed on demand.
 */
const PLANS_PER_DOCUMENT = 32;

interface DocumentEntry {
  schema: GraphQLSchema;
  operation: OperationRequirements | null;
  /** By caller class (see `callerKey`); null: the caller may see everything. */
  plans: Map<string, FilterPlan | null>;
}

export interface OperationAuthorizer {
  /**
   * The filter plan for this caller and operation, or null when the caller may see all of it.
   * Cached per document object and operation name, then per caller class: anonymous or not,
   * plus which of the scopes the operation mentions the caller holds.
   */
  authorize(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, principal: Principal | undefined): FilterPlan | null;
}

export function createOperationAuthorizer(requirements: AuthorizationRequirements): OperationAuthorizer {
  const byDocument = new WeakMap<DocumentNode, Map<string, DocumentEntry>>();
  return {
    authorize(schema, document, operationName, principal) {
      let byOperation = byDocument.get(document);
      if (!byOperation) {
        byOperation = new Map();
        byDocument.set(document, byOperation);
      }
      const operationKey = operationName ?? '';
      let entry = byOperation.get(operationKey);
      if (!entry || entry.schema !== schema) {
        entry = { schema, operation: operationRequirements(schema, requirements, document, operationName), plans: new Map() };
        byOperation.set(operationKey, entry);
      }
      const operation = entry.operation;
      if (!operation || operation.requirements.length === 0) return null;
      const authenticated = principal !== undefined && principal.kind !== 'anonymous';
      const held = principal ? operation.scopes.filter((scope) => principal.scopes.includes(scope)) : [];
      const key = `${authenticated ? 'user' : 'anonymous'}:${held.join(' ')}`;
      const cached = entry.plans.get(key);
      if (cached !== undefined) return cached;
      // Only the scopes the operation mentions matter, so the plan is the same for every caller with this key.
      const caller: CallerView = { authenticated, scopes: new Set(held) };
      const plan = operation.requirements.every((requirement) => checkRequirement(requirement, caller) === null)
        ? null
        : planFilter(schema, requirements, document, operationName, caller);
      setBounded(entry.plans, key, plan, PLANS_PER_DOCUMENT);
      return plan;
    },
  };
}
