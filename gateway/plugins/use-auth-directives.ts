/**
 * Authorization directives (`@authenticated`, `@requiresScopes`) enforced at the gateway.
 *
 * `@apollo/gateway` ignores these Federation 2.5+ directives; this plugin applies them the way
 * Apollo Router does ("filter" mode): unauthorized parts of an operation are removed before
 * planning, so no subgraph ever receives them, and the rest of the operation still runs.
 *
 * Requirements
 * - Read once from the supergraph SDL. Directive names are resolved through its `@link`s
 *   (`https://specs.apollo.dev/authenticated/v0.1`, `…/requiresScopes/v0.1`, with `as:` and
 *   `import:` renames). A supergraph without either directive costs nothing: the plugin
 *   registers no hooks.
 * - Directives on object and interface fields, and on object, interface, scalar and enum types.
 *   A selected field requires its own directives AND its parent type's AND its return type's
 *   (the named type once lists and non-null are unwrapped).
 * - `@requiresScopes(scopes: [["a", "b"], ["c"]])`: the outer list is OR, the inner AND:
 *   (a AND b) OR c. Several `@requiresScopes` on one element (or reached through parent and
 *   return type) must all hold. An empty outer list restricts nothing (as in Router).
 * - Interfaces: composition (Federation >= 2.9.4) copies each implementation's requirements
 *   onto the interface and its fields, so a field returning an interface requires what every
 *   implementation requires. Unions carry none; a fragment on a restricted member is what is
 *   filtered there.
 * - Caller: `context.principal` from useAuth. Any kind other than `anonymous` is
 *   authenticated; scopes are `principal.scopes`.
 *
 * Filtering (after validation, before execution; queries, mutations and subscriptions)
 * - Every field the caller may not see is removed from the operation, whatever its
 *   nesting, in named fragments (inlined) and inline fragments alike. A fragment whose type
 *   condition the caller may not see is removed as a whole, as if it matched no object: its
 *   fields are absent from the response (not null), with one error at the fragment's
 *   position. `__typename` and introspection are never restricted.
 * - Each removal reports one error, before any execution error:
 *   `Unauthorized field or type: Query.user (requires scope users:read)`, with `path` the
 *   response path of the removed field (response keys, so aliases; list indices omitted)
 *   and `extensions.code` UNAUTHENTICATED when the caller is anonymous, FORBIDDEN when a
 *   signed-in caller lacks scopes. Errors follow `@skip`/`@include`: a field this request
 *   skips reports nothing.
 * - The HTTP status stays 200 (GraphQL semantics: partial data with errors). 401 is only
 *   for credentials that do not verify, which useAuth answers before this runs.
 * - Subscriptions: every event carries the nulls and the errors. A subscription whose root
 *   field is removed is answered once, without subscribing upstream.
 *
 * Nulls
 * - A removed nullable field is null in the response: in every object that selected it,
 *   in every element where its path crosses a list, and, when it was selected in a fragment
 *   on a narrower type, only in objects of that type (the filtered operation then asks for
 *   `_authz_typename: __typename`, a reserved response key stripped from the response).
 * - A removed non-null field propagates null exactly as GraphQL does: its object becomes
 *   null, then up to the nearest nullable field or list element; the error still names the
 *   removed field, once. When that ancestor is certain before executing (no list, no
 *   narrower fragment type, no `@skip`/`@include` in between), it is removed from the
 *   operation too. Otherwise it is executed and nulled in the response: through a list the
 *   list is still fetched (with `__typename` only when all its elements will be null),
 *   because an empty list stays `[]` and stops the propagation.
 * - A selection left empty by the filter asks for `_authz_typename` alone, so its object
 *   still comes back, with the removed fields null.
 * - When nothing is left to execute, the executor is not called: if every root field was
 *   removed, `data` has each of them null (as Router answers); if null surely reaches the
 *   root, `data` is null. A mutation field the caller may not use is therefore never run.
 * - Removed fields come after the executed ones in their object (JSON key order only).
 *
 * Cost
 * - The operation's requirements are found once per parsed document and operation name
 *   (Yoga reuses document objects from its parse cache); the filtered operation, its
 *   errors and null positions once more per caller class: anonymous or signed in, plus
 *   which of the scopes the operation mentions the caller holds (at most 32 classes per
 *   document are kept). A caller who may see everything gets the operation untouched.
 */
import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AuthContext } from './use-auth.js';
import { mergeIntoResult, resultWithoutExecution } from '../authorization/apply.js';
import { createOperationAuthorizer } from '../authorization/authorizer.js';
import type { AuthorizationRequirements } from '../authorization/requirements.js';

/**
 * Enforces the supergraph's `@authenticated` and `@requiresScopes` (see the block above).
 * Goes right after useAuth, before any plugin that executes: it replaces `args.document`
 * with the filtered operation in `onExecute`/`onSubscribe`, so later plugins (cost, the
 * federated executor) see only what will run; the response is merged in `onExecuteDone` /
 * `onSubscribeResult`.
 */
export function useAuthDirectives(requirements: AuthorizationRequirements): Plugin<Partial<AuthContext>> {
  if (!requirements.active) return {};
  const authorizer = createOperationAuthorizer(requirements);

  /** Swaps in the filtered operation and returns how to merge its results; null: nothing to merge. */
  const filter = (args: ExecutionArgs, stop: (result: ExecutionResult) => void): ((result: ExecutionResult) => ExecutionResult) | null => {
    const principal = (args.contextValue as Partial<AuthContext> | undefined)?.principal;
    const plan = authorizer.authorize(args.schema, args.document, args.operationName, principal);
    if (!plan) return null;
    const variables = args.variableValues as Record<string, unknown> | null | undefined;
    if (!plan.execute) {
      stop(resultWithoutExecution(plan, variables));
      return null;
    }
    // envelop hands this same `args` object to the executor (and subscribe) after the hooks ran.
    args.document = plan.document;
    return (result) => mergeIntoResult(plan, result, variables);
  };

  return {
    onExecute({ args, setResultAndStopExecution }) {
      const apply = filter(args, setResultAndStopExecution);
      if (!apply) return;
      return {
        onExecuteDone({ result, setResult }) {
          if (!isAsyncIterable(result)) return setResult(apply(result));
          return { onNext: ({ result: next, setResult: setNext }) => setNext(applyToPayload(apply, next)) };
        },
      };
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const apply = filter(args, setResultAndStopExecution);
      if (!apply) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return setResult(apply(result));
          return { onNext: ({ result: next, setResult: setNext }) => setNext(applyToPayload(apply, next)) };
        },
      };
    },
  };
}

/** Each subscription event is a whole result; incremental-delivery patches (no `data`) pass as they are. */
function applyToPayload<T>(apply: (result: ExecutionResult) => ExecutionResult, payload: T): T {
  return typeof payload === 'object' && payload !== null && 'data' in payload ? (apply(payload as ExecutionResult) as T) : payload;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
