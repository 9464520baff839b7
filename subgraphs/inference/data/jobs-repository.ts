import type { InferenceJob } from './__generated__/prisma/client.js';
import type { InferencePrisma } from './database.js';

export function createJobsRepository(prisma: InferencePrisma) {
  return {
    listModels: () => prisma.model.findMany({ where: { enabled: true }, orderBy: { id: 'asc' } }),
    findModels: (ids: string[]) => prisma.model.findMany({ where: { id: { in: ids } } }),
    findJob: (id: string) => prisma.inferenceJob.findUnique({ where: { id } }),
    /**
     * The newest `first` jobs of each user (newest first, ties by id), in one statement: a
     * LATERAL subquery per user walks the (userId, createdAt) index and stops at `first`.
     */
    latestJobsOfUsers: (userIds: string[], first: number) =>
      prisma.$queryRaw<InferenceJob[]>`
        SELECT job.* FROM unnest(${userIds}::uuid[]) AS owner(id)
        CROSS JOIN LATERAL (
          SELECT * FROM "inference"."InferenceJob" WHERE "userId" = owner.id
          ORDER BY "createdAt" DESC, "id" DESC LIMIT ${first}
        ) AS job
        ORDER BY job."userId", job."createdAt" DESC, job."id" DESC`,
  };
}

export type JobsRepository = ReturnType<typeof createJobsRepository>;
