import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { type OperationTypeNode, parse, print } from 'graphql';

/** The id of a trusted document, and the APQ hash of a query: the hex SHA-256 of its text. */
export const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** Apollo's persisted query list (`apollo-persisted-query-manifest`), what `npm run codegen` writes. */
export interface PersistedQueryManifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: Array<{ id: string; name: string; type: OperationTypeNode; body: string }>;
}

/** The trusted documents the gateway serves: body by id, and the operation names (bounded metric labels). */
export interface TrustedDocuments {
  bodyOf(id: string): string | undefined;
  hasName(name: string): boolean;
  readonly size: number;
}

/** The manifest of operation documents (one named operation each), ids the SHA-256 of each printed body. */
export function manifestOf(sources: readonly string[]): PersistedQueryManifest {
  const operations = sources.map((source) => {
    const document = parse(source);
    const [operation, ...others] = document.definitions;
    if (operation?.kind !== 'OperationDefinition' || !operation.name || others.length > 0) {
      throw new Error('each client document must hold exactly one named operation');
    }
    const body = print(document);
    return { id: sha256Hex(body), name: operation.name.value, type: operation.operation, body };
  });
  operations.sort((a, b) => a.name.localeCompare(b.name));
  return { format: 'apollo-persisted-query-manifest', version: 1, operations };
}

/**
 * Reads a manifest: Apollo's persisted query list, or the `{ "<id>": "<body>" }` map that
 * GraphQL Codegen's client preset writes as `persisted-documents.json`. Throws on anything else.
 */
export async function readTrustedDocuments(file: string): Promise<TrustedDocuments> {
  const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
  const bodies = new Map<string, string>();
  const names = new Set<string>();
  if (isApolloManifest(parsed)) {
    for (const operation of parsed.operations) {
      bodies.set(operation.id, operation.body);
      names.add(operation.name);
    }
  } else if (parsed && typeof parsed === 'object' && Object.values(parsed).every((body) => typeof body === 'string')) {
    for (const [id, body] of Object.entries(parsed as Record<string, string>)) {
      bodies.set(id, body);
      for (const match of body.matchAll(/\b(?:query|mutation|subscription)\s+(\w+)/g)) names.add(match[1]!);
    }
  } else {
    throw new Error(`${file} is neither an apollo-persisted-query-manifest nor an { id: body } map`);
  }
  return { bodyOf: (id) => bodies.get(id), hasName: (name) => names.has(name), size: bodies.size };
}

function isApolloManifest(value: unknown): value is PersistedQueryManifest {
  const manifest = value as Partial<PersistedQueryManifest> | null;
  return (
    manifest?.format === 'apollo-persisted-query-manifest' &&
    Array.isArray(manifest.operations) &&
    manifest.operations.every((op) => typeof op?.id === 'string' && typeof op.body === 'string' && typeof op.name === 'string')
  );
}
