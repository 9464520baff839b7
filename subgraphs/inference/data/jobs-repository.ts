import type { InferencePrisma } from './database.js';

export function createJobsRepository(prisma: InferencePrisma) {
  return {
    listModels: () => prisma.model.findMany({ where: { enabled: true }, orderBy: { id: 'asc' } }),
    findModel: (id: string) => prisma.model.findUnique({ where: { id } }),
    findJob: (id: string) => prisma.inferenceJob.findUnique({ where: { id } }),
    listJobsOfUser: (userId: string, first: number) =>
      prisma.inferenceJob.findMany({ where: { userId }, orderBy: { createdAt: 'desc' }, take: first }),
  };
}

export type JobsRepository = ReturnType<typeof createJobsRepository>;
