import { type DocumentNode, type FieldNode, Kind, parse, visit } from 'graphql';

/** The prefix of the response names given to client fields that collide with a `@requires`. */
const ALIAS_PREFIX = '__lb_alias_';

/**
 * The names of the fields that some `@requires` of the supergraph selects with arguments.
 * The planner merges a client's selection of such a field (same response name, other
 * arguments) with the required one and keeps one argument list, so one of the two gets the
 * wrong value; those client selections are renamed before planning (see `aliasRequiredCollisions`).
 */
export function fieldsRequiredWithArguments(supergraphSdl: string): ReadonlySet<string> {
  const names = new Set<string>();
  visit(parse(supergraphSdl), {
    Directive(directive) {
      if (!directive.name.value.endsWith('__field')) return;
      const requires = directive.arguments?.find((a) => a.name.value === 'requires')?.value;
      if (requires?.kind !== Kind.STRING) return;
      visit(parse(`{ ${requires.value} }`), {
        Field(field) {
          if (field.arguments && field.arguments.length > 0) names.add(field.name.value);
        },
      });
    },
  });
  return names;
}

/** A document whose colliding client fields were given internal aliases, and the client's response name per internal alias. */
export interface AliasedDocument {
  document: DocumentNode;
  clientNames: ReadonlyMap<string, string>;
}

/**
 * Gives every client field whose response name is one of `required` an internal alias, so the
 * planner fetches it beside the required selection instead of merging the two. Undefined when
 * nothing collides: such documents are planned and shaped as they are.
 */
export function aliasRequiredCollisions(document: DocumentNode, required: ReadonlySet<string>): AliasedDocument | undefined {
  if (required.size === 0) return undefined;
  const clientNames = new Map<string, string>();
  // A client may itself use a name like ours (graphql-js accepts aliases starting with `__`): skip those.
  const taken = new Set<string>();
  visit(document, { Field: (field) => void taken.add(field.alias?.value ?? field.name.value) });
  let next = 0;
  const rewritten = visit(document, {
    Field(field): FieldNode | undefined {
      const responseName = field.alias?.value ?? field.name.value;
      if (!required.has(responseName)) return undefined;
      while (taken.has(`${ALIAS_PREFIX}${next}`)) next++;
      const alias = `${ALIAS_PREFIX}${next++}`;
      clientNames.set(alias, responseName);
      return { ...field, alias: { kind: Kind.NAME, value: alias } };
    },
  });
  return clientNames.size === 0 ? undefined : { document: rewritten, clientNames };
}
