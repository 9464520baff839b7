import { type ExecutionArgs, type ExecutionResult, getOperationAST, type GraphQLFormattedError, OperationTypeNode, parse, validate } from 'graphql';
import { Registry } from 'prom-client';

import type { EngineOptions, GatewayEngine } from '../../gateway/engine/engine.js';
import { createUpstream, type UpstreamCaller } from '../../gateway/upstream/index.js';
import { composeSupergraph } from '../../lib/compose.js';
import { createLogger } from '../../lib/logger.js';
import { testEnv } from '../env.js';
import { startAdHocSubgraph } from '../gateway-kit.js';
import { type RawResponder, startRawSubgraph } from './raw-subgraph.js';

/** A subgraph: `@apollo/subgraph` over `resolvers`, or a raw server answering with `respond`. */
export type SubgraphFixture = { name: string; typeDefs: string } & ({ resolvers: unknown } | { respond: RawResponder });

/** One operation of the corpus, run unchanged through every engine. */
export interface DiffCase {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  /**
   * The `extensions.code` of each error apollo answers with (null: an error without one), in the
   * order of `Answer.errors`: proves the case reaches what it is about (an empty list: no error
   * at all), so a broken fixture cannot pass as "the same".
   */
  codes: (string | null)[];
}

/**
 * An operation apollo answers wrongly, so no engine is held to apollo's answer: the correct
 * answer (verified, not guessed: by graphql-js or by hand from the fixture's data) and the one
 * apollo gives, both without errors and with keys in the order given.
 */
export interface ApolloWrongCase {
  name: string;
  query: string;
  correct: unknown;
  apollo: unknown;
}

export interface SupergraphFixture {
  name: string;
  subgraphs: SubgraphFixture[];
  /** Subgraphs composed into the supergraph, then stopped before any operation runs. */
  down?: string[];
  cases: DiffCase[];
  apolloGetsWrong?: ApolloWrongCase[];
}

export type EngineFactory = (options: EngineOptions) => Promise<GatewayEngine>;

/** The fixture's subgraphs on real HTTP servers (port 0), composed into a supergraph. */
export async function startSupergraph(fixture: SupergraphFixture) {
  const servers: { name: string; url: string; typeDefs: string; close(): Promise<void> }[] = [];
  const close = () => Promise.all(servers.map((server) => server.close()));
  try {
    for (const subgraph of fixture.subgraphs) {
      const { name, typeDefs } = subgraph;
      servers.push(await ('respond' in subgraph ? startRawSubgraph(name, typeDefs, subgraph.respond) : startAdHocSubgraph(name, typeDefs, subgraph.resolvers)));
    }
    const supergraphSdl = composeSupergraph(servers.map(({ name, url, typeDefs }) => ({ name, url, typeDefs })));
    await Promise.all(servers.filter((server) => fixture.down?.includes(server.name)).map((server) => server.close()));
    return { supergraphSdl, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** An engine as the gateway builds it: its own upstream (fresh metrics registry) with real HTTP fetches. */
export function startEngine(factory: EngineFactory, supergraphSdl: string): Promise<GatewayEngine> {
  return factory({
    supergraphSdl,
    // Generous: a loaded machine must not turn a slow subgraph into SUBGRAPH_UNAVAILABLE.
    connect: (subgraphs) => createUpstream({ subgraphs, timeoutMs: 20_000, keepAliveMs: 10_000, protocolOf: () => 'ws', registry: new Registry(), connectionsPerSubgraph: 8, deduplicate: false }),
    logger: createLogger({ name: 'engine-diff', level: testEnv.logLevel }),
  });
}

/** The request's caller, as the gateway's auth context provides it. */
const caller: UpstreamCaller = { identityHeader: async () => 'engine-diff-identity' };

export interface NormalisedError {
  message: string;
  path: readonly (string | number)[] | null;
  code: string | null;
}

/** What the comparison looks at: `data` as sent on the wire (JSON, so key order counts) and the errors. */
export interface Answer {
  data: unknown;
  /** `data` serialised: the order of keys is part of the response (the selection's order). */
  dataJson: string | undefined;
  errors: NormalisedError[];
}

/**
 * Parses and validates the case against the engine's schema, then runs it as the gateway does:
 * one answer for a query or mutation; for a subscription, one per event of the upstream
 * subscription the engine plans (opened through the engine's upstream, run to its end).
 */
export async function answers(engine: GatewayEngine, diffCase: DiffCase): Promise<Answer[]> {
  const document = parse(diffCase.query);
  const invalid = validate(engine.schema, document);
  if (invalid.length > 0) throw new Error(`case ${diffCase.name} is invalid: ${invalid.map((error) => error.message).join('; ')}`);
  const variables = diffCase.variables ?? {};
  const args: ExecutionArgs = { schema: engine.schema, document, variableValues: variables, operationName: diffCase.operationName, contextValue: caller };
  if (getOperationAST(document, diffCase.operationName)?.operation !== OperationTypeNode.SUBSCRIPTION) return [normalise(await engine.execute(args))];
  const plan = engine.planSubscription(document, diffCase.operationName);
  const primaryVariables = Object.fromEntries(plan.variableNames.filter((name) => name in variables).map((name) => [name, variables[name]]));
  const results: Answer[] = [];
  for await (const event of engine.upstream.subscribe(plan.subgraph, { query: plan.query, variables: primaryVariables, operationName: plan.operationName }, caller)) {
    results.push(normalise(await engine.resolveEvent(plan, args, event)));
  }
  return results;
}

/** The one answer to a query or mutation. */
export async function answer(engine: GatewayEngine, diffCase: DiffCase): Promise<Answer> {
  const [only] = await answers(engine, diffCase);
  return only!;
}

export function normalise(result: ExecutionResult): Answer {
  const wire = JSON.parse(JSON.stringify(result)) as { data?: unknown; errors?: GraphQLFormattedError[] };
  const errors = (wire.errors ?? []).map((error) => ({
    message: error.message,
    path: error.path ?? null,
    code: typeof error.extensions?.code === 'string' ? error.extensions.code : null,
  }));
  // Equivalent errors need not come in the same order: engines may fetch in parallel.
  errors.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { data: wire.data, dataJson: JSON.stringify(wire.data), errors };
}
