import { type DocumentNode, type ExecutionArgs, type ExecutionResult, getOperationAST, print } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { Counter, type Registry } from 'prom-client';

import type { Principal } from '../../lib/auth/principal.js';
import { METRIC_NAMESPACE } from '../../lib/metrics.js';

type Execution = ReturnType<ExecuteFn>;
type SharedResult = ExecutionResult & { stringify: (result: ExecutionResult) => string };
type ExecuteFn = (args: ExecutionArgs) => Promise<ExecutionResult | AsyncIterable<ExecutionResult>> | ExecutionResult | AsyncIterable<ExecutionResult>;

/** One execution in flight and the requests waiting to share its result. */
interface InFlight {
  joiners: { resolve(result: Execution): void; args: ExecutionArgs }[];
}

/**
 * Identical queries in flight at once from the same principal share one execution
 * (INBOUND_DEDUPLICATION, off by default: see the README). "Identical" is exact: the same
 * principal (every field, so the same identity reaches the subgraphs), the same document as
 * it will run (after authorization filtered it), operation name and variables: everything
 * execution reads (request `extensions` only select a persisted document, already resolved
 * into the document here). Mutations and subscriptions never share.
 *
 * Only the execution is shared: each request has passed auth, persisted-query and cost checks
 * of its own by the time this runs (register it last, after useFederatedExecution, so it wraps
 * the engine's execute), and each is charged, metered and logged on its own, with its own
 * request id. Each request gets a result of its own whose errors and extensions are new
 * containers (plugins complete those per request: cost, request ids, authorization errors),
 * while `data`, 87 KB for the benchmark's query, is the same object: no plugin changes data in
 * place (authorization copies what it nulls), and the results' `stringify` (used by Yoga's
 * result processors) serialises that data once for every request holding it.
 */
export function useInboundDeduplication(registry: Registry): Plugin<{ principal?: Principal }> {
  const shared = new Counter({
    name: `${METRIC_NAMESPACE}_inbound_requests_shared_total`,
    help: 'Queries answered by an identical query of the same principal already executing (INBOUND_DEDUPLICATION).',
    registers: [registry],
  });
  // By the document's printed text first (one string per document, kept: its hash is worked
  // out once), then by the rest: the key per request is then a short JSON, not one that copies
  // the whole document text and is hashed anew each time.
  const inFlight = new Map<string, Map<string, InFlight>>();
  const printed = new WeakMap<DocumentNode, string>();
  const keysOf = (args: ExecutionArgs): { source: string; rest: string } | null => {
    const principal = (args.contextValue as { principal?: Principal } | undefined)?.principal;
    if (!principal || getOperationAST(args.document, args.operationName)?.operation !== 'query') return null;
    let source = printed.get(args.document);
    if (source === undefined) printed.set(args.document, (source = print(args.document)));
    return { source, rest: JSON.stringify([principal, args.operationName ?? null, args.variableValues ?? null]) };
  };

  const execute = async (executeFn: ExecuteFn, args: ExecutionArgs): Promise<Execution> => {
    const keys = keysOf(args);
    if (keys === null) return executeFn(args);
    const { source, rest } = keys;
    let ofDocument = inFlight.get(source);
    const running = ofDocument?.get(rest);
    if (running) {
      shared.inc();
      return new Promise<Execution>((resolve) => running.joiners.push({ resolve, args }));
    }
    if (!ofDocument) inFlight.set(source, (ofDocument = new Map()));
    const entry: InFlight = { joiners: [] };
    ofDocument.set(rest, entry);
    let result: Awaited<Execution>;
    try {
      result = await executeFn(args);
    } catch (error) {
      // Each joiner runs on its own: the failure may have been this request's alone.
      for (const joiner of entry.joiners) joiner.resolve(executeFn(joiner.args));
      throw error;
    } finally {
      ofDocument.delete(rest);
      if (ofDocument.size === 0) inFlight.delete(source);
    }
    if (entry.joiners.length === 0) return result;
    if (isAsyncIterable(result)) {
      for (const joiner of entry.joiners) joiner.resolve(executeFn(joiner.args));
      return result;
    }
    const stringify = stringifySharing(result.data);
    for (const joiner of entry.joiners) joiner.resolve(resultOfOwn(result, stringify));
    return resultOfOwn(result, stringify);
  };

  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((args) => execute(executeFn as ExecuteFn, args));
    },
  };
}

/** A result whose containers the caller may complete in place; its data is shared, and read only. */
function resultOfOwn(result: ExecutionResult, stringify: SharedResult['stringify']): SharedResult {
  return {
    ...result,
    ...(result.errors && { errors: [...result.errors] }),
    ...(result.extensions && { extensions: { ...result.extensions } }),
    stringify,
  };
}

/**
 * `JSON.stringify` of a result as UTF-8 bytes, except that `shared` data is serialised and
 * encoded once, by the first request to answer, and its bytes reused by the others: each
 * request encodes only its own envelope (errors, extensions) around them. A plugin that
 * replaced the data (a `rateLimit` field, authorization nulls) gets its own data serialised as
 * usual. Bytes, not text: useBufferedJsonResponse sends them as they are, where text would be
 * encoded again per request (87 KB for the benchmark's query). Typed as Yoga's string
 * serialiser, as useBufferedJsonResponse's is, hence the cast.
 */
function stringifySharing(shared: unknown): SharedResult['stringify'] {
  let sharedBytes: Buffer | undefined;
  return (result) => {
    const chunks: Buffer[] = [];
    let text = '{';
    let first = true;
    for (const [key, value] of Object.entries(result)) {
      const isShared = key === 'data' && value === shared && value !== undefined;
      const own = isShared ? '' : (JSON.stringify(value) as string | undefined);
      // As JSON.stringify: members whose value has no JSON (undefined, this function) are left out.
      if (own === undefined) continue;
      text += `${first ? '' : ','}${JSON.stringify(key)}:${own}`;
      first = false;
      if (isShared) {
        chunks.push(Buffer.from(text), (sharedBytes ??= Buffer.from(JSON.stringify(value))));
        text = '';
      }
    }
    chunks.push(Buffer.from(`${text}}`));
    return Buffer.concat(chunks) as unknown as string;
  };
}
