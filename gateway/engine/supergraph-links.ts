import { CoreFeature, FeatureUrl } from '@apollo/federation-internals';
import { type ConstDirectiveNode, type DocumentNode, getOperationAST, Kind, parse, valueFromASTUntyped } from 'graphql';

/** A subscription selects exactly one root field (validation ensures it). */
export function rootFieldOf(document: DocumentNode, operationName: string | null | undefined): string | null {
  const selection = getOperationAST(document, operationName)?.selectionSet.selections[0];
  return selection?.kind === Kind.FIELD ? selection.name.value : null;
}

const LINK_SPEC = 'https://specs.apollo.dev/link';

/**
 * `GatewayEngine.linkedDirectiveName` for a supergraph SDL: the in-schema name of each linked
 * spec's directive of the same name, resolved through its `@link`s the way federation-internals
 * does (`as:` renames the spec, `import:` may rename the directive). Exported for tests that
 * read a supergraph without starting an engine.
 */
export function linkedDirectiveNameIn(supergraphSdl: string): (identity: string) => string | null {
  const names = linkedDirectiveNames(parse(supergraphSdl, { noLocation: true }));
  return (identity) => names.get(identity) ?? null;
}

function linkedDirectiveNames(supergraph: DocumentNode): Map<string, string> {
  const schemaDirectives = supergraph.definitions.flatMap((d): readonly ConstDirectiveNode[] =>
    d.kind === Kind.SCHEMA_DEFINITION || d.kind === Kind.SCHEMA_EXTENSION ? (d.directives ?? []) : [],
  );
  const links = schemaDirectives.map((directive) => ({
    directive,
    args: Object.fromEntries((directive.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value)])) as Record<string, unknown>,
  }));
  // `@link` itself may be renamed by the link that bootstraps it.
  let linkName = 'link';
  for (const { args } of links) {
    if (typeof args.url === 'string' && typeof args.as === 'string' && FeatureUrl.maybeParse(args.url)?.identity === LINK_SPEC) linkName = args.as;
  }
  const names = new Map<string, string>();
  for (const { directive, args } of links) {
    if (directive.name.value !== linkName || typeof args.url !== 'string') continue;
    const url = FeatureUrl.maybeParse(args.url);
    if (!url || url.identity === LINK_SPEC) continue;
    const imports = (Array.isArray(args.import) ? args.import : []).flatMap((entry): { name: string; as?: string }[] => {
      if (typeof entry === 'string') return [{ name: entry }];
      if (entry && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string') {
        const { name, as } = entry as { name: string; as?: unknown };
        return [typeof as === 'string' ? { name, as } : { name }];
      }
      return [];
    });
    const nameInSchema = typeof args.as === 'string' ? args.as : url.name;
    names.set(url.identity, CoreFeature.directiveNameInSchemaForCoreArguments(url, nameInSchema, imports, url.name));
  }
  return names;
}
