import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { composeServices } from '@apollo/composition';
import { parse, printSchema } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** rover's `supergraph.yaml`: `subgraphs.<name>.routing_url` and `schema.file` (relative to the YAML). */
const supergraphConfigSchema = z.object({
  federation_version: z.union([z.string(), z.number()]).optional(),
  subgraphs: z.record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/),
    z.object({ routing_url: z.url(), schema: z.object({ file: z.string().min(1) }) }),
  ),
});

export interface SubgraphSource {
  name: string;
  url: string;
  typeDefs: string;
}

export class CompositionError extends Error {
  override name = 'CompositionError';
}

/** Reads a rover-format supergraph config and each subgraph's schema file. */
export async function readSupergraphConfig(configPath: string): Promise<SubgraphSource[]> {
  const raw = await readFile(configPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new CompositionError(`cannot read ${configPath}: ${error.code ?? error.message}`);
  });
  const parsed = supergraphConfigSchema.safeParse(parseYaml(raw));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CompositionError(`${configPath}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const baseDir = path.dirname(configPath);
  return Promise.all(
    Object.entries(parsed.data.subgraphs).map(async ([name, subgraph]) => {
      const file = path.resolve(baseDir, subgraph.schema.file);
      const typeDefs = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new CompositionError(`subgraph ${name}: cannot read ${file}: ${error.code ?? error.message}`);
      });
      return { name, url: subgraph.routing_url, typeDefs };
    }),
  );
}

export interface Composition {
  /** What the gateway serves: the API schema plus the federation metadata (join__, link__). */
  supergraphSdl: string;
  /** The client-facing API schema: what clients can query, without federation internals. */
  apiSchemaSdl: string;
}

/**
 * Composes subgraph SDLs into a supergraph SDL with `@apollo/composition` (what rover does).
 * Throws a CompositionError listing every composition error, one per line, with its code.
 */
export function composeSupergraph(subgraphs: SubgraphSource[]): string {
  return compose(subgraphs).supergraphSdl;
}

/** The supergraph and its API schema (`Schema.toAPISchema`, what Apollo's gateway and router serve). */
export function compose(subgraphs: SubgraphSource[]): Composition {
  const services = subgraphs.map((subgraph) => {
    try {
      return { name: subgraph.name, url: subgraph.url, typeDefs: parse(subgraph.typeDefs) };
    } catch (error) {
      throw new CompositionError(`subgraph ${subgraph.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  const result = composeServices(services);
  if (result.errors) {
    const lines = result.errors.map((error) => {
      const code = (error.extensions?.code as string | undefined) ?? 'COMPOSITION_ERROR';
      return `  [${code}] ${error.message}`;
    });
    throw new CompositionError(`composition failed with ${result.errors.length} error(s):\n${lines.join('\n')}`);
  }
  return { supergraphSdl: result.supergraphSdl, apiSchemaSdl: printSchema(result.schema.toAPISchema().toGraphQLJSSchema()) };
}
