import type { Tracer } from '@opentelemetry/api';
import { type ExecutionArgs, type ExecutionResult, GraphQLError, OperationTypeNode } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { Histogram, type Registry } from 'prom-client';

import { anonymousPrincipal, type Principal } from '../../lib/auth/principal.js';
import { graphqlError } from '../../lib/errors.js';
import { thenMaybe } from '../../lib/maybe-promise.js';
import { METRIC_NAMESPACE } from '../../lib/metrics.js';
import { inSpan, PHASE_SPANS } from '../../lib/tracing/spans.js';
import type { CostAnalysis, PricedOperation } from './analysis.js';
import type { BudgetDecision, CostBudget, CountedWithCharge, ThrottleStatus } from './budget.js';
import { type CostPlans, planOf } from './plans.js';
import { rateLimitData, type RateLimitSplit, splitRateLimitFields } from './rate-limit-field.js';

/** `extensions.cost` of every executed or refused operation (Shopify's shape). */
export interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: Omit<ThrottleStatus, 'resetAtMs'>;
}

export interface CostLimitsOptions {
  analysis: CostAnalysis;
  budget: CostBudget;
  /** Operation limits per tier, or a function giving them now (the plan catalogue, gateway/plans/). */
  plans: CostPlans | (() => CostPlans);
  registry: Registry;
  /** Counted with each charge, in the take's round trip (the monthly request quota); see CountedWithCharge. */
  countWithCharge?: CountedWithCharge;
  /** When set (tracing on), pricing and the budget charge are one span (`graphql.cost`). */
  tracer?: Tracer | undefined;
}

/** How to finish an executed operation's result: its actual cost, the refund, and both on it. */
interface Charged {
  settle(result: ExecutionResult): ExecutionResult;
}

/** An operation priced and taken from its caller's budget, with what finishing it needs. */
interface Taken {
  principal: Principal;
  context: { request?: object } | undefined;
  variables: Record<string, unknown>;
  rateLimit: RateLimitSplit | null;
  priced: PricedOperation;
  cost: number;
  operationType: OperationTypeNode;
  decision: BudgetDecision;
}

const COST_BUCKETS = [0, 1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 10_000];

/**
 * Prices each operation before it runs and charges its caller's budget (the full semantics in
 * README.md, "Cost limits"): shape limits and the plan's cost ceiling first (each its own
 * code), then `budget.take` (RATE_LIMITED, HTTP 429 + Retry-After, when it does not fit);
 * after execution the actual cost from the response is computed and the difference refunded.
 * Hooks `onExecute`/`onSubscribe`, after useAuth and useAuthDirectives, so it prices what will
 * run, on every transport (graphql-ws included). Adds `extensions.cost` to each result and
 * `x-cost-estimate` / `x-cost-actual` headers to HTTP responses, and answers the free
 * `rateLimit` root field itself.
 */
export function useCostLimits(options: CostLimitsOptions): Plugin {
  const { analysis, budget } = options;
  const plansNow = typeof options.plans === 'function' ? options.plans : () => options.plans as CostPlans;
  const estimated = new Histogram({
    name: `${METRIC_NAMESPACE}_gateway_operation_cost_estimated`,
    help: 'Estimated cost of operations before they ran, by operation type.',
    labelNames: ['operation_type'],
    buckets: COST_BUCKETS,
    registers: [options.registry],
  });
  const actual = new Histogram({
    name: `${METRIC_NAMESPACE}_gateway_operation_cost_actual`,
    help: 'Actual cost of executed operations from their responses, by operation type.',
    labelNames: ['operation_type'],
    buckets: COST_BUCKETS,
    registers: [options.registry],
  });
  // Children bound once per operation type: observe() with a labels object hashes the labels on every call.
  const estimatedOf = boundPerOperationType(estimated);
  const actualOf = boundPerOperationType(actual);
  /** Per HTTP request, the figures its response headers carry. */
  const costsByRequest = new WeakMap<object, { estimate: number; actual: number | null }>();

  /**
   * Prices and charges; returns how to finish the result, or null when it was refused (and
   * stopped). At once, not as a promise, when the budget decided at once (a lease).
   */
  const charge = (args: ExecutionArgs, stop: (result: ExecutionResult) => void) => inSpan(options.tracer, PHASE_SPANS.cost, () => priceAndTake(args, stop));
  const priceAndTake = (args: ExecutionArgs, stop: (result: ExecutionResult) => void): Charged | null | Promise<Charged | null> => {
    const context = args.contextValue as { principal?: Principal; request?: object } | undefined;
    const principal = context?.principal ?? anonymousPrincipal(null);
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    const refuse = async (error: GraphQLError, cost: number) => {
      stop({ errors: [error], extensions: { cost: extensionOf(cost, null, await budget.peek(principal)) } });
      return null;
    };
    // `rateLimit` is answered here, free: taken out before the operation is priced and planned.
    const rateLimit = splitRateLimitFields(args.document, args.operationName);
    if (rateLimit && !rateLimit.document) {
      return budget.peek(principal).then((status) => {
        stop({ data: rateLimitData(rateLimit, 0, status, variables), extensions: { cost: extensionOf(0, 0, status) } });
        return null;
      });
    }
    if (rateLimit?.document) args.document = rateLimit.document;
    const priced = analysis.analyse(args.schema, args.document, args.operationName);
    if (priced instanceof GraphQLError) return refuse(priced, 0);
    let cost: number;
    try {
      cost = priced.estimate(variables);
    } catch (error) {
      if (error instanceof GraphQLError) return refuse(error, 0);
      throw error;
    }
    const operationType = operationTypeOf(args);
    estimatedOf[operationType].observe(cost);
    const ceiling = planOf(plansNow(), principal).maxOperationCost;
    if (cost > ceiling) {
      return refuse(graphqlError('COST_LIMIT_EXCEEDED', `The operation costs ${cost}, more than the ${ceiling} one operation may.`, { cost, maxCost: ceiling }), cost);
    }
    const decision = budget.take(principal, cost, options.countWithCharge?.counterOf(args) ?? undefined);
    const decided = (decision: BudgetDecision) => afterTake(args, stop, { principal, context, variables, rateLimit, priced, cost, operationType, decision });
    return thenMaybe(decision, decided);
  };
  /** What the budget decided, applied: refused (stopped, null) or how to finish the result. */
  const afterTake = (args: ExecutionArgs, stop: (result: ExecutionResult) => void, taken: Taken): Charged | null => {
    const { principal, context, variables, rateLimit, priced, cost, operationType, decision } = taken;
    if (decision.allowed && decision.counted) options.countWithCharge!.counted(args, decision.counted);
    if (context?.request) costsByRequest.set(context.request, { estimate: cost, actual: null });
    if (!decision.allowed) {
      const retryAfter = decision.retryAfterSeconds;
      const error = graphqlError('RATE_LIMITED', `The operation costs ${cost}; ${decision.status.currentlyAvailable} is available now. Retry after ${retryAfter} s.`, {
        retryAfter,
        http: { status: 429, headers: { 'retry-after': String(retryAfter) } },
      });
      stop({ errors: [error], extensions: { cost: extensionOf(cost, null, decision.status) } });
      return null;
    }
    const withCost = (result: ExecutionResult, spent: number, status: ThrottleStatus): ExecutionResult => {
      const data = rateLimit && result.data ? { ...result.data, ...rateLimitData(rateLimit, cost, status, variables) } : result.data;
      return { ...result, ...(data === undefined ? {} : { data }), extensions: { ...result.extensions, cost: extensionOf(cost, spent, status) } };
    };
    return {
      /** After a query or mutation: the actual cost, the refund, and both on the result. */
      settle(result: ExecutionResult): ExecutionResult {
        const spent = priced.actual(result.data, variables);
        actualOf[operationType].observe(spent);
        // No round trip of its own: the refund rides with the caller's next take (or goes out
        // shortly after); the status shown is the take's answer plus the refund.
        const status = budget.refundLater(principal, cost - spent, decision.status);
        if (context?.request) costsByRequest.set(context.request, { estimate: cost, actual: spent });
        return withCost(result, spent, status);
      },
    };
  };

  const finishing = (charged: Charged | null) =>
    charged
      ? {
          onExecuteDone({ result, setResult }: { result: ExecutionResult | AsyncIterable<ExecutionResult>; setResult: (result: ExecutionResult) => void }) {
            if (!isAsyncIterable(result)) setResult(charged.settle(result));
          },
        }
      : undefined;

  return {
    onExecute({ args, setResultAndStopExecution }) {
      const charged = charge(args, setResultAndStopExecution);
      return thenMaybe(charged, finishing);
    },
    async onSubscribe({ args, setResultAndStopExecution }) {
      // A subscription is charged once, when it starts; its events carry no cost and are not refunded.
      await charge(args, setResultAndStopExecution);
    },
    onResponse({ request, response }) {
      const costs = costsByRequest.get(request);
      if (!costs) return;
      response.headers.set('x-cost-estimate', String(costs.estimate));
      if (costs.actual !== null) response.headers.set('x-cost-actual', String(costs.actual));
    },
  };
}

const extensionOf = (requested: number, actual: number | null, status: ThrottleStatus): CostExtension => ({
  requestedQueryCost: requested,
  actualQueryCost: actual,
  throttleStatus: { maximumAvailable: status.maximumAvailable, currentlyAvailable: status.currentlyAvailable, restoreRate: status.restoreRate },
});

function boundPerOperationType(histogram: Histogram<'operation_type'>): Record<OperationTypeNode, ReturnType<Histogram<'operation_type'>['labels']>> {
  return { query: histogram.labels('query'), mutation: histogram.labels('mutation'), subscription: histogram.labels('subscription') };
}

function operationTypeOf(args: ExecutionArgs): OperationTypeNode {
  for (const definition of args.document.definitions) {
    if (definition.kind === 'OperationDefinition' && (!args.operationName || definition.name?.value === args.operationName)) return definition.operation;
  }
  return OperationTypeNode.QUERY;
}
