import type { InferenceJob, Model } from '../data/__generated__/prisma/client.js';

export type UserParent = { id: string };
export type InferenceJobParent = InferenceJob;
export type ModelParent = Model;
export interface InferenceJobConnectionParent {
  edges: Array<{ cursor: string; node: InferenceJob }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}
