import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';
import type { Plugin } from 'graphql-yoga';

import { env } from './config.js';
import { graphqlError } from './errors.js';

/** How big a GraphQL document may be before it is parsed. */
export interface DocumentLimits {
  /** Largest `query` string, in UTF-8 bytes. */
  maxBytes: number;
  /** Most lexical tokens (names, values, punctuators; comments do not count), as graphql-js's `maxTokens` counts them. */
  maxTokens: number;
  /**
   * Deepest nesting of `{ }`, `[ ]` and `( )` together: selection sets, list and object
   * literals, argument lists. graphql-js parses, validates and executes by recursion, so a
   * deep enough document overflows the stack (about 2,000 levels for the parser alone).
   */
  maxDepth: number;
}

/**
 * Defaults for documents from clients (the gateway). Tokens: ~3 per field with its braces,
 * so 15,000 allows a few thousand fields (Apollo Router's `parser_max_tokens` default); a
 * 20,000-alias document (60,000 tokens) is refused before it costs anything. Bytes: 64 KiB
 * is ten times our largest real documents (GraphiQL's introspection query is 2 KB);
 * anything bigger belongs in a persisted query. Depth: 100 is five times the deepest real
 * query and far from the stack's limit at any stage (parse, validation, planning, execution).
 */
export const CLIENT_DOCUMENT_LIMITS: DocumentLimits = { maxBytes: 65_536, maxTokens: 15_000, maxDepth: 100 };

/**
 * Defaults for subgraphs, whose documents come from the gateway's query planner: it inlines
 * fragments and adds `__typename`, so one client document can become a larger one, and
 * inlined fragments can nest deeper than any of them did. Four times the room in size,
 * twice in depth; still far from the stack's limit.
 */
export const SUBGRAPH_DOCUMENT_LIMITS: DocumentLimits = { maxBytes: 262_144, maxTokens: 60_000, maxDepth: 200 };

/** The document-limit settings of a process's config schema (gateway and subgraphs), with their defaults. */
export function documentLimitsEnv(defaults: DocumentLimits) {
  return {
    MAX_DOCUMENT_BYTES: env.positiveInt(defaults.maxBytes),
    MAX_DOCUMENT_TOKENS: env.positiveInt(defaults.maxTokens),
    MAX_DOCUMENT_DEPTH: env.positiveInt(defaults.maxDepth),
  };
}

/** The document limits a parsed config sets. */
export function documentLimitsOf(config: Record<'MAX_DOCUMENT_BYTES' | 'MAX_DOCUMENT_TOKENS' | 'MAX_DOCUMENT_DEPTH', number>): DocumentLimits {
  return { maxBytes: config.MAX_DOCUMENT_BYTES, maxTokens: config.MAX_DOCUMENT_TOKENS, maxDepth: config.MAX_DOCUMENT_DEPTH };
}

/**
 * Refuses documents over the limits with GRAPHQL_PARSE_FAILED (HTTP 400), before they cost
 * more than a scan: on every transport that parses through Yoga's envelop (HTTP, SSE,
 * multipart, and graphql-ws through `getEnveloped`). Refusals are the client's error: no
 * log line.
 *
 * Size is checked before anything else sees the document, Yoga's parse cache included, so
 * an oversized string is never kept as a cache key. Tokens and depth are checked by one pass
 * of graphql-js's own lexer in front of the parser, only when a document is not cached yet;
 * a refused document is then cached as a parse error like any other.
 */
export function useDocumentLimits(limits: DocumentLimits): Plugin {
  return {
    onParse({ params, parseFn, setParseFn }) {
      const body = typeof params.source === 'string' ? params.source : params.source.body;
      if (body.length > limits.maxBytes || Buffer.byteLength(body) > limits.maxBytes) {
        throw documentRefused(`Document is larger than ${limits.maxBytes} bytes.`);
      }
      setParseFn((source, options) => {
        const refusal = tokensOrDepthRefusal(source, limits);
        if (refusal) throw refusal;
        return parseFn(source, options);
      });
    },
  };
}

/**
 * Lexes the document once, counting tokens and bracket depth, up to the first limit crossed.
 * A lexical error ends the scan without a refusal: the parser then reports it properly.
 */
function tokensOrDepthRefusal(source: string | Source, limits: DocumentLimits): GraphQLError | undefined {
  const lexer = new Lexer(typeof source === 'string' ? new Source(source) : source);
  let tokens = 0;
  let depth = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (++tokens > limits.maxTokens) return documentRefused(`Syntax Error: Document contains more than ${limits.maxTokens} tokens. Parsing aborted.`);
      if (OPENING.has(token.kind) && ++depth > limits.maxDepth) return documentRefused(`Document nests deeper than ${limits.maxDepth} levels.`);
      if (CLOSING.has(token.kind)) depth = Math.max(0, depth - 1);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

const OPENING = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * A parse error like any other: HTTP 400 by the GraphQL-over-HTTP spec (`spec: true` lets Yoga
 * keep 200 for a legacy `Accept: application/json` caller such as the gateway's subgraph
 * fetches, which then relay the error; the gateway answers its clients 400 regardless).
 */
const documentRefused = (message: string) => graphqlError('GRAPHQL_PARSE_FAILED', message, { http: { status: 400, spec: true } });
