import { DATA_ADMIN_SCOPES, ownedUserReference, visibleRecord } from '../../../lib/auth/ownership.js';
import { badUserInput, graphqlError } from '../../../lib/errors.js';
import { isUuid } from '../../../lib/ids.js';
import { DateTimeScalar } from '../../../lib/scalars.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import type { JobsRepository } from '../data/jobs-repository.js';

/** Upper bound on `User.inferenceJobs(first:)`, so one request cannot ask for every row. */
export const MAX_JOBS_PAGE = 100;

export function createInferenceResolvers(deps: { jobs: JobsRepository }): Resolvers {
  const { jobs } = deps;
  return {
    DateTime: DateTimeScalar,
    Query: {
      models: () => jobs.listModels(),
      // Someone else's job answers exactly like a missing one: null with NOT_FOUND.
      inferenceJob: async (_parent, { id }, { principal }) =>
        visibleRecord(principal, isUuid(id) ? await jobs.findJob(id) : null, (job) => job.userId, DATA_ADMIN_SCOPES.inference, 'Inference job'),
    },
    // A job reaches a resolver only through inferenceJob or User.inferenceJobs, both owner-checked.
    InferenceJob: {
      user: (job) => ({ id: job.userId }),
      async model(job, _args, { loaders }) {
        const model = await loaders.model(job.modelId);
        if (!model) throw graphqlError('INTERNAL_SERVER_ERROR', `model ${job.modelId} of job ${job.id} is missing`);
        return model;
      },
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
