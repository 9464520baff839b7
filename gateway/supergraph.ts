import { readFile } from 'node:fs/promises';

import { composeSupergraph, readSupergraphConfig } from '../lib/compose.js';

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
