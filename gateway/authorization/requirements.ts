import { type ConstDirectiveNode, type DocumentNode, Kind, parse, valueFromASTUntyped } from 'graphql';

/** `@requiresScopes(scopes: …)`: outer list OR, inner list AND (`[["a","b"],["c"]]` = (a AND b) OR c). */
export type ScopeAlternatives = readonly (readonly string[])[];

/**
 * What one schema element (or one selected field, everything combined) asks of the caller.
 * `scopes` holds one entry per `@requiresScopes` that applies; all of them must hold (AND).
 */
export interface Requirement {
  authenticated: boolean;
  scopes: readonly ScopeAlternatives[];
}

/** The caller as far as authorization directives care. */
export interface CallerView {
  authenticated: boolean;
  scopes: ReadonlySet<string>;
}

export interface RequirementFailure {
  /** UNAUTHENTICATED for an anonymous caller, FORBIDDEN for a signed-in one lacking scopes. */
  code: 'UNAUTHENTICATED' | 'FORBIDDEN';
  /** What is missing, e.g. `requires scope users:read`. */
  missing: string;
}

export const AUTHENTICATED_SPEC = 'https://specs.apollo.dev/authenticated';
export const REQUIRES_SCOPES_SPEC = 'https://specs.apollo.dev/requiresScopes';

/**
 * The `@authenticated` / `@requiresScopes` requirements of a supergraph, by type name and by
 * field coordinate (`Type.field`). `fieldRequirement` combines a field's own requirement with
 * its parent type's and its return type's, as the caller needs all three to see its value.
 */
export interface AuthorizationRequirements {
  /** False when the supergraph uses neither directive: nothing to enforce. */
  readonly active: boolean;
  /** The directive names in this supergraph (after `@link` renames), or null when not linked. */
  readonly directiveNames: { authenticated: string | null; requiresScopes: string | null };
  typeRequirement(typeName: string): Requirement | null;
  /** `returnTypeName` is the field's named type (lists and non-null unwrapped). */
  fieldRequirement(parentTypeName: string, fieldName: string, returnTypeName: string): Requirement | null;
}

/**
 * Reads the requirements from a composed supergraph SDL (once, at start-up). The directives'
 * names in it, after `@link` renames, come from the engine (`GatewayEngine.linkedDirectiveName`).
 */
export function readAuthorizationRequirements(
  supergraphSdl: string | DocumentNode,
  linkedDirectiveName: (identity: string) => string | null,
): AuthorizationRequirements {
  const document = typeof supergraphSdl === 'string' ? parse(supergraphSdl, { noLocation: true }) : supergraphSdl;
  const names = { authenticated: linkedDirectiveName(AUTHENTICATED_SPEC), requiresScopes: linkedDirectiveName(REQUIRES_SCOPES_SPEC) };
  const types = new Map<string, Requirement>();
  const fields = new Map<string, Requirement>();
  const add = (map: Map<string, Requirement>, key: string, directives: readonly ConstDirectiveNode[] | undefined) => {
    const own = requirementOf(directives, names);
    if (own) map.set(key, combine(map.get(key) ?? null, own)!);
  };
  for (const definition of document.definitions) {
    switch (definition.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INTERFACE_TYPE_EXTENSION:
        add(types, definition.name.value, definition.directives);
        for (const field of definition.fields ?? []) add(fields, `${definition.name.value}.${field.name.value}`, field.directives);
        break;
      case Kind.SCALAR_TYPE_DEFINITION:
      case Kind.SCALAR_TYPE_EXTENSION:
      case Kind.ENUM_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_EXTENSION:
        add(types, definition.name.value, definition.directives);
        break;
      default:
        break;
    }
  }
  const combined = new Map<string, Requirement | null>();
  return {
    active: types.size > 0 || fields.size > 0,
    directiveNames: names,
    typeRequirement: (typeName) => types.get(typeName) ?? null,
    fieldRequirement(parentTypeName, fieldName, returnTypeName) {
      const coordinate = `${parentTypeName}.${fieldName}`;
      let requirement = combined.get(coordinate);
      if (requirement === undefined) {
        requirement = combine(combine(fields.get(coordinate) ?? null, types.get(returnTypeName) ?? null), types.get(parentTypeName) ?? null);
        combined.set(coordinate, requirement);
      }
      return requirement;
    },
  };
}

function argumentsOf(directive: ConstDirectiveNode): Record<string, unknown> {
  return Object.fromEntries((directive.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value)]));
}

function requirementOf(
  directives: readonly ConstDirectiveNode[] | undefined,
  names: { authenticated: string | null; requiresScopes: string | null },
): Requirement | null {
  let requirement: Requirement | null = null;
  for (const directive of directives ?? []) {
    if (directive.name.value === names.authenticated) {
      requirement = combine(requirement, { authenticated: true, scopes: [] });
    } else if (directive.name.value === names.requiresScopes) {
      const alternatives = scopeAlternatives(argumentsOf(directive).scopes);
      // An empty outer list names no alternative; like Router, it restricts nothing.
      if (alternatives.length > 0) requirement = combine(requirement, { authenticated: false, scopes: [alternatives] });
    }
  }
  return requirement;
}

/** Input coercion of `[[Scope!]!]!`: a lone value stands for a one-element list. */
function scopeAlternatives(value: unknown): ScopeAlternatives {
  const outer = Array.isArray(value) ? value : value == null ? [] : [value];
  return outer.map((inner) => (Array.isArray(inner) ? inner : [inner]).filter((s): s is string => typeof s === 'string'));
}

/** Both requirements at once (AND). */
export function combine(a: Requirement | null, b: Requirement | null): Requirement | null {
  if (!a) return b;
  if (!b) return a;
  const scopes = [...a.scopes];
  const seen = new Set(scopes.map((s) => JSON.stringify(s)));
  for (const alternatives of b.scopes) {
    const key = JSON.stringify(alternatives);
    if (!seen.has(key)) {
      seen.add(key);
      scopes.push(alternatives);
    }
  }
  return { authenticated: a.authenticated || b.authenticated, scopes };
}

/** Every scope a requirement mentions (to key caches by the caller's relevant scopes only). */
export function scopesMentioned(requirement: Requirement): string[] {
  return requirement.scopes.flatMap((alternatives) => alternatives.flat());
}

/** Null when the caller meets the requirement, else why not. */
export function checkRequirement(requirement: Requirement | null, caller: CallerView): RequirementFailure | null {
  if (!requirement) return null;
  const unmet = requirement.scopes.filter((alternatives) => !alternatives.some((all) => all.every((scope) => caller.scopes.has(scope))));
  if (caller.authenticated && unmet.length === 0) return null;
  if (!caller.authenticated && !requirement.authenticated && unmet.length === 0) return null;
  const parts = [...(requirement.authenticated && !caller.authenticated ? ['authentication'] : []), ...unmet.map(describeAlternatives)];
  return { code: caller.authenticated ? 'FORBIDDEN' : 'UNAUTHENTICATED', missing: `requires ${parts.join(' and ')}` };
}

function describeAlternatives(alternatives: ScopeAlternatives): string {
  if (alternatives.length === 1) {
    const all = alternatives[0]!;
    return all.length === 1 ? `scope ${all[0]}` : `scopes ${all.join(' and ')}`;
  }
  return `scopes ${alternatives.map((all) => (all.length === 1 ? all[0] : `(${all.join(' and ')})`)).join(' or ')}`;
}
