import type { AutonomyAction, AutonomyChange } from '../data/__generated__/prisma/client.js';
import type { EffectiveAutonomy } from '../domain/effective.js';

export type UserParent = { id: string };
export type AutonomySettingParent = EffectiveAutonomy;
export type AutonomyChangeParent = AutonomyChange;
export type AutonomyActionParent = AutonomyAction;
