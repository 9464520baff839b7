import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';

import { loadGatewayConfig } from '../gateway/config.js';
import { parseEnv } from './config.js';
import { CLIENT_DOCUMENT_LIMITS, documentLimitsOf, SUBGRAPH_DOCUMENT_LIMITS, useDocumentLimits } from './graphql-limits.js';
import { serviceEnvSchema } from './service.js';

const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { echo(text: String, list: [[Int]]): String }', resolvers: { Query: { echo: (_, { text }) => text ?? 'ok' } } }),
  logging: false,
  plugins: [useDocumentLimits({ maxBytes: 200, maxTokens: 40, maxDepth: 4 })],
});

async function run(query: string) {
  const response = await yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
}

describe('useDocumentLimits', () => {
  it('lets documents within every limit through', async () => {
    expect(await run('{ echo(list: [[1]]) }')).toEqual({ status: 200, body: { data: { echo: 'ok' } } });
  });

  it('counts depth across selection sets, arguments and list literals', async () => {
    const { status, body } = await run('{ echo(list: [[[1]]]) }');
    expect(status).toBe(400);
    expect(body.errors?.[0]).toMatchObject({ message: 'Document nests deeper than 4 levels.', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  });

  it('does not count brackets inside strings, block strings or comments', async () => {
    const { body } = await run('{ echo(text: "{{{{[[[[(((") # {{{{{{\n }');
    expect(body).toEqual({ data: { echo: '{{{{[[[[(((' } });
    expect((await run('{ echo(text: """ {{{{{{ \\""" [[[[[ """) }')).body.data).toEqual({ echo: ' {{{{{{ """ [[[[[ ' });
  });

  it('refuses more tokens than allowed, comments not counted', async () => {
    // 40 tokens and a comment
    expect((await run(`{ echo(list: [[${'1 '.repeat(29)}]]) } # a comment`)).status).toBe(200);
    const { status, body } = await run(`{ echo(list: [[${'1 '.repeat(30)}]]) }`);
    expect(status).toBe(400);
    expect(body.errors?.[0]).toMatchObject({ message: 'Syntax Error: Document contains more than 40 tokens. Parsing aborted.', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  });

  it('refuses a document over the size limit in UTF-8 bytes, not characters', async () => {
    const text = 'é'.repeat(95); // 95 characters, 190 bytes
    const { status, body } = await run(`{ echo(text: "${text}") }`);
    expect(status).toBe(400);
    expect(body.errors?.[0]).toMatchObject({ message: 'Document is larger than 200 bytes.', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
  });

  it('leaves lexical errors to the parser', async () => {
    const { status, body } = await run('{ echo(text: "unterminated) }');
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toMatch(/^Syntax Error: Unterminated string/);
  });
});

describe('document limit settings', () => {
  it('default to the client limits on the gateway and the larger subgraph limits on subgraphs', () => {
    expect(documentLimitsOf(loadGatewayConfig({}))).toEqual(CLIENT_DOCUMENT_LIMITS);
    expect(documentLimitsOf(parseEnv(serviceEnvSchema(4001), {}))).toEqual(SUBGRAPH_DOCUMENT_LIMITS);
  });

  it('are validated at start-up', () => {
    expect(() => loadGatewayConfig({ MAX_DOCUMENT_DEPTH: '0' })).toThrow(/MAX_DOCUMENT_DEPTH/);
    expect(() => parseEnv(serviceEnvSchema(4001), { MAX_DOCUMENT_TOKENS: 'many' })).toThrow(/MAX_DOCUMENT_TOKENS/);
    expect(() => loadGatewayConfig({ METRICS_MAX_OPERATION_NAMES: '-1' })).toThrow(/METRICS_MAX_OPERATION_NAMES/);
  });
});
