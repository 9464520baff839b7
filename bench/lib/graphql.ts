/** A GraphQL request body as sent over HTTP POST. */
/** A document sent as text, or a trusted document by its id (clients/persisted-documents.json). */
export type GraphQLBody = ({ query: string } | { documentId: string }) & { variables?: Record<string, unknown> };

export interface GraphQLResponse {
  status: number;
  data: unknown;
  errors: unknown[] | undefined;
  extensions: Record<string, unknown> | undefined;
}

/** One POST, outside the measured load: seeding and the checks before and after measuring. */
export async function postGraphQL(url: string, body: GraphQLBody, headers: Record<string, string> = {}): Promise<GraphQLResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let parsed: { data?: unknown; errors?: unknown[]; extensions?: Record<string, unknown> };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new Error(`${url} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, data: parsed.data, errors: parsed.errors, extensions: parsed.extensions };
}

/** Asserts a field's value inside response data, naming the path when it differs. */
export function expectField(data: unknown, path: string, check: (value: unknown) => boolean, expected: string): void {
  let value: unknown = data;
  for (const key of path.split('.')) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  if (!check(value)) throw new Error(`expected ${path} to be ${expected}, got ${JSON.stringify(value)}`);
}
