import { type DocumentNode, type GraphQLError, NoSchemaIntrospectionCustomRule, validate } from 'graphql';
import type { Plugin } from 'graphql-yoga';

import { graphqlError } from './errors.js';

/** The scope that may introspect the gateway where introspection is off for others (the admin role has it). */
export const SCHEMA_READ_SCOPE = 'schema:read';

/**
 * Refuses `__schema` and `__type` (introspection) unless `isAllowed(context)` says this caller
 * may see the schema. Checked when the operation is about to execute, once the context (and
 * so the caller) is known; the refusal is the validation error Apollo Server gives,
 * GRAPHQL_VALIDATION_FAILED, and nothing runs. `__typename` stays allowed: clients and
 * health probes rely on it.
 */
export function useIntrospectionPolicy(isAllowed: (context: Record<string, unknown>) => boolean): Plugin {
  // Yoga caches parsed documents, so a repeated operation is the same object.
  const refusals = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (isAllowed(args.contextValue as unknown as Record<string, unknown>)) return;
      let errors = refusals.get(args.document);
      if (!errors) {
        // The first is enough ("… contained the field "__schema""); the rule also names each field below it.
        errors = validate(args.schema, args.document, [NoSchemaIntrospectionCustomRule])
          .slice(0, 1)
          .map((error) => graphqlError('GRAPHQL_VALIDATION_FAILED', error.message));
        refusals.set(args.document, errors);
      }
      if (errors.length > 0) setResultAndStopExecution({ errors });
    },
  };
}
