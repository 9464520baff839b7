import { type DirectiveNode, Kind } from 'graphql';

/** The `@skip`/`@include` directives among a selection's. */
export const conditionsOf = (directives: readonly DirectiveNode[] | undefined): DirectiveNode[] =>
  (directives ?? []).filter((directive) => directive.name.value === 'skip' || directive.name.value === 'include');

/** Whether `@skip`/`@include` directives (a field's and its enclosing fragments') leave it in, with these variables. */
export function isIncluded(conditions: readonly DirectiveNode[], variables: Record<string, unknown>): boolean {
  for (const directive of conditions) {
    const argument = directive.arguments?.find((entry) => entry.name.value === 'if');
    if (!argument) continue;
    const value = argument.value.kind === Kind.VARIABLE ? variables[argument.value.name.value] : argument.value.kind === Kind.BOOLEAN ? argument.value.value : undefined;
    if (directive.name.value === 'skip' && value === true) return false;
    if (directive.name.value === 'include' && value === false) return false;
  }
  return true;
}
