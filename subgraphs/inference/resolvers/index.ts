import { GraphQLError } from 'graphql';

import { DATA_ADMIN_SCOPES, ownedUserReference, visibleRecord } from '../../../lib/auth/ownership.js';
import { badUserInput, graphqlError, unauthenticated } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import { DateTimeScalar } from '../../../lib/scalars.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import { decodeJobCursor, encodeJobCursor, type JobStore } from '../data/job-store.js';
import type { JobsRepository } from '../data/jobs-repository.js';
import type { EventStreams, StreamItem } from '../domain/event-stream.js';
import { toEventObject } from '../domain/events.js';
import type { Submissions } from '../domain/submission.js';

/** Upper bound on `User.inferenceJobs(first:)`, so one request cannot ask for every row. */
export const MAX_JOBS_PAGE = 100;

export interface InferenceResolverDeps {
  jobs: JobsRepository;
  store: JobStore;
  submissions: Submissions;
  events: EventStreams;
}

const PRIORITY_ENUM = { high: 'HIGH', normal: 'NORMAL', low: 'LOW' } as const;

/** A stream's item as its subscription's result: an event, or the error that ends it. */
function eventOf(item: StreamItem) {
  if (item instanceof GraphQLError) throw item;
  return toEventObject(item);
}

export function createInferenceResolvers(deps: InferenceResolverDeps): Resolvers {
  const { jobs, store } = deps;
  return {
    DateTime: DateTimeScalar,
    Query: {
      models: () => jobs.listModels(),
      // Someone else's job answers exactly like a missing one: null with NOT_FOUND.
      inferenceJob: async (_parent, { id }, { principal }) =>
        visibleRecord(principal, isUuid(id) ? await jobs.findJob(id) : null, (job) => job.userId, DATA_ADMIN_SCOPES.inference, 'Inference job'),
      async inferenceJobs(_parent, { first, after }, { principal }) {
        // Only the caller's own jobs; a caller without a user (anonymous, OIDC, service) has none.
        if (principal.kind === 'anonymous') throw unauthenticated('Sign in to list your inference jobs');
        if (first < 1 || first > MAX_JOBS_PAGE) throw badUserInput(`first must be between 1 and ${MAX_JOBS_PAGE}`, { argument: 'first' });
        const position = after == null ? null : decodeJobCursor(after);
        if (after != null && !position) throw badUserInput('after is not a cursor of inferenceJobs', { argument: 'after' });
        const owner = principal.kind === 'user' || principal.kind === 'apiKey' ? principal.userId : null;
        const page = owner ? await store.pageOfUser(owner, first, position) : { rows: [], hasNextPage: false };
        const edges = page.rows.map((node) => ({ cursor: encodeJobCursor(node), node }));
        return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
      },
    },
    Mutation: {
      submitInference: (_parent, { input }, { principal }) => deps.submissions.submit(principal, input),
      cancelInference: (_parent, { id }, { principal }) => deps.submissions.cancel(principal, id),
    },
    Subscription: {
      inferenceEvents: {
        subscribe: (_parent, { jobId, after }, { principal }) => deps.events.open(principal, jobId, after ?? 0),
        resolve: eventOf,
      },
      runInference: {
        async subscribe(_parent, { input, idempotencyKey }, { principal }) {
          const run = await deps.submissions.run(principal, input, idempotencyKey);
          // A job from the cache, or an earlier run's, is streamed from its log (ownership checked there).
          return run.known.length > 0 ? deps.events.follow(run.jobId, run.known) : deps.events.open(principal, run.jobId, 0);
        },
        resolve: eventOf,
      },
    },
    InferenceEvent: {
      // Every event object comes from toEventObject, which names its type.
      __resolveType: (event) => event.__typename!,
    },
    // A job reaches a resolver only through inferenceJob, inferenceJobs, User.inferenceJobs or
    // the mutations, each owner-checked.
    InferenceJob: {
      user: (job) => ({ id: job.userId }),
      async model(job, _args, { loaders }) {
        const model = await loaders.model(job.modelId);
        if (!model) throw graphqlError('INTERNAL_SERVER_ERROR', `model ${job.modelId} of job ${job.id} is missing`);
        return model;
      },
      messages: (job) => (Array.isArray(job.messages) ? job.messages : []).map((message) => {
        const { role, content } = message as { role: string; content: string };
        return { role: role === 'assistant' ? 'ASSISTANT' : 'USER', content };
      }),
      context: (job) => job.autonomyContext,
      priority: (job) => PRIORITY_ENUM[job.priority as keyof typeof PRIORITY_ENUM] ?? 'LOW',
      error: (job) => (job.errorCode || job.error ? { code: job.errorCode ?? 'UNKNOWN', message: job.error ?? '' } : null),
    },
    User: {
      __resolveReference: ownedUserReference(DATA_ADMIN_SCOPES.inference),
      inferenceJobs(user, { first }, { loaders }) {
        if (first < 1 || first > MAX_JOBS_PAGE) {
          throw badUserInput(`first must be between 1 and ${MAX_JOBS_PAGE}`, { argument: 'first' });
        }
        return isUuid(user.id) ? loaders.jobsOfUser({ userId: user.id, first }) : [];
      },
    },
  };
}
