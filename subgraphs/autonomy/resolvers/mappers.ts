import type { AutonomyLevel } from '../data/__generated__/prisma/client.js';

export type UserParent = { id: string };
export interface AutonomySettingParent {
  context: string | null;
  level: AutonomyLevel;
  updatedAt: Date | null;
}
