import type { Principal } from '../../lib/auth/principal.js';
import { createBatchLoader, groupBy } from '../../lib/batch-loader.js';
import type { InferenceJob, Model } from './data/__generated__/prisma/client.js';
import type { JobsRepository } from './data/jobs-repository.js';

/** Per-request context of the inference subgraph. */
export interface InferenceContext {
  /** The caller, as vouched for by the gateway's signed identity header. */
  principal: Principal;
  loaders: InferenceLoaders;
}

export type InferenceLoaders = ReturnType<typeof createInferenceLoaders>;

interface JobsOfUserKey {
  userId: string;
  first: number;
}
const jobsOfUserId = ({ userId, first }: JobsOfUserKey) => `${userId}:${first}`;

/** Made for each request: one query per level of a selection for each kind of row (lib/batch-loader.ts). */
export function createInferenceLoaders(jobs: JobsRepository) {
  return {
    /** A user's newest `first` jobs: one statement for every user of a batch, at the largest `first` asked. */
    jobsOfUser: createBatchLoader<JobsOfUserKey, InferenceJob[]>({
      idOf: jobsOfUserId,
      async loadMany(keys) {
        const userIds = [...new Set(keys.map((key) => key.userId))];
        const rows = await jobs.latestJobsOfUsers(userIds, Math.max(...keys.map((key) => key.first)));
        const byUser = groupBy(rows, (job) => job.userId);
        return new Map(keys.map((key) => [jobsOfUserId(key), byUser.get(key.userId)?.slice(0, key.first) ?? []]));
      },
      missing: [],
    }),
    model: createBatchLoader<string, Model | null>({
      loadMany: async (ids) => new Map((await jobs.findModels(ids)).map((model) => [model.id, model])),
      missing: null,
    }),
  };
}
