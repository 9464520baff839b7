import type { InferenceJob, Model } from '../data/__generated__/prisma/client.js';

export type UserParent = { id: string };
export type InferenceJobParent = InferenceJob;
export type ModelParent = Model;
