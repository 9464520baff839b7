import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin, processRegularResult } from 'graphql-yoga';

/**
 * Yoga serialises through a result's `stringify` and hands what it returns to `new Response`,
 * which takes bytes as readily as a string. Typed as a string serialiser, hence the cast.
 */
const toUtf8 = (result: unknown) => Buffer.from(JSON.stringify(result)) as unknown as string;
type Stringify = (result: unknown) => string;
/** A result's own serialiser (inbound de-duplication's, which may already return bytes), its output as bytes. */
const inUtf8 =
  (stringify: Stringify): Stringify =>
  (result) => {
    const out: unknown = stringify(result);
    return (typeof out === 'string' ? Buffer.from(out) : out) as string;
  };

/**
 * A JSON response (Yoga's regular result processor: one result, not a stream or a batch)
 * leaves as UTF-8 bytes encoded once, not as a string: a string body is measured for
 * Content-Length, then joined to the response head by node:http, which copies and encodes
 * the joined text again as it writes it. On the bench's 87 KB TestQuery that second pass was
 * a sizeable share of the gateway's CPU. Status, headers and bytes sent are unchanged: Yoga's
 * processor still builds the response, and the errors' internals are still omitted before
 * `stringify` runs. A result that brings its own `stringify` keeps it.
 */
export function useBufferedJsonResponse(): Plugin {
  return {
    onResultProcess({ result, resultProcessor, setResult }) {
      if (resultProcessor !== processRegularResult || Array.isArray(result) || isAsyncIterable(result)) return;
      const own = (result as { stringify?: Stringify }).stringify;
      setResult({ ...(result as ExecutionResult), stringify: own ? inUtf8(own) : toUtf8 } as ExecutionResult);
    },
  };
}
