import { readFile } from 'node:fs/promises';

import { type DirectiveNode, parse, print } from 'graphql';

import { watchFile } from '../lib/watch-file.js';

export interface SupergraphSource {
  /** A composed supergraph SDL file; wins over `configFile`. */
  sdlFile?: string | undefined;
  /** A rover-format supergraph.yaml to compose. */
  configFile: string;
  /** Routing URL per subgraph name, replacing the one in the supergraph. */
  urlOverrides: Record<string, string>;
}

/** The supergraph SDL to serve, with routing URLs overridden where configured. */
export async function loadSupergraphSdl(source: SupergraphSource): Promise<string> {
  if (source.sdlFile) {
    const sdl = await readFile(source.sdlFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new Error(`cannot read supergraph ${source.sdlFile}: ${error.code ?? error.message}`);
    });
    return overrideRoutingUrls(sdl, source.urlOverrides);
  }
  // Only composing needs @apollo/composition and a YAML parser (about 12 MB of RSS): a gateway served a composed file never loads them.
  const { composeSupergraph, readSupergraphConfig } = await import('../lib/compose.js');
  const subgraphs = await readSupergraphConfig(source.configFile);
  return composeSupergraph(
    subgraphs.map((subgraph) => ({ ...subgraph, url: source.urlOverrides[subgraph.name] ?? subgraph.url })),
  );
}

/** Rewrites `@join__graph(name: "x", url: "…")` for each overridden subgraph. */
function overrideRoutingUrls(sdl: string, overrides: Record<string, string>): string {
  return sdl.replace(/@join__graph\(name: "([^"]+)", url: "[^"]*"\)/g, (whole, name: string) =>
    overrides[name] ? `@join__graph(name: "${name}", url: ${JSON.stringify(overrides[name])})` : whole,
  );
}

/**
 * Every application of the named directives in a supergraph SDL, as sorted
 * `Coordinate@name(args)` lines: two supergraphs with the same text here enforce the same
 * authorization and cost rules, whatever else changed.
 */
export function directiveApplications(supergraphSdl: string, names: ReadonlySet<string>): string {
  const lines: string[] = [];
  const note = (coordinate: string, directives: readonly DirectiveNode[] | undefined) => {
    for (const directive of directives ?? []) if (names.has(directive.name.value)) lines.push(`${coordinate}${print(directive)}`);
  };
  for (const definition of parse(supergraphSdl, { noLocation: true }).definitions) {
    if (!('name' in definition) || !definition.name || !('directives' in definition)) continue;
    const type = definition.name.value;
    note(type, definition.directives);
    const members = 'fields' in definition ? definition.fields : 'values' in definition ? definition.values : undefined;
    for (const member of members ?? []) {
      note(`${type}.${member.name.value}`, member.directives);
      for (const argument of 'arguments' in member ? (member.arguments ?? []) : []) note(`${type}.${member.name.value}(${argument.name.value})`, argument.directives);
    }
  }
  return lines.sort().join('\n');
}

/**
 * Calls `onSdl` with the supergraph each time `source.sdlFile` changes (a broken file: `onError`,
 * and the caller keeps what it serves). Nothing to watch without an SDL file.
 */
export function watchSupergraph(source: SupergraphSource, onSdl: (sdl: string) => Promise<void>, onError: (error: unknown) => void): { close(): void } | null {
  if (!source.sdlFile) return null;
  return watchFile(source.sdlFile, () => void loadSupergraphSdl(source).then(onSdl).catch(onError), onError);
}
