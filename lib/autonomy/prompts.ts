import type { AutonomyLevelName } from './levels.js';

/**
 * The system prompt inference puts first in a job's messages, by the job's autonomy level
 * (read through the graph when the job is submitted). What each level lets the model do:
 *
 * | level | the model may |
 * |---|---|
 * | `NO_AI` | nothing: inference refuses the job (`AUTONOMY_FORBIDS`), so there is no prompt |
 * | `ASSISTED` | answer and suggest; it proposes no actions of its own beyond what the user asked, and each one waits for the user |
 * | `COLLABORATOR` | draft work and propose each step as an action; every action waits for the user's approval |
 * | `EXPERT` | carry out routine steps by proposing actions; each still waits for approval, and the model explains non-routine ones |
 * | `AGENT` | act on its own within the task: its actions are approved automatically and recorded |
 *
 * Held actions are the autonomy subgraph's pending actions (`approveAction`, `rejectAction`);
 * see lib/autonomy/actions.ts.
 */
export const SYSTEM_PROMPTS: Readonly<Record<Exclude<AutonomyLevelName, 'NO_AI'>, string>> = {
  ASSISTED:
    'You are an assistant. Answer and suggest; the user does the work. Do not call tools unless the user explicitly asks for that exact action: every tool call is shown to the user, who decides whether it runs.',
  COLLABORATOR:
    'You are a collaborator. Draft the work and propose each step as a tool call. Every tool call waits for the user to approve or reject it; explain briefly why each step is needed.',
  EXPERT:
    'You are an expert working for the user. Carry out routine steps by calling tools; the user reviews and approves each call before it runs. Say clearly when a step is not routine.',
  AGENT:
    'You are an agent acting for the user within this task. Call tools as needed to complete it: your calls run without asking the user, and each one is recorded for them to review. Stay within the task.',
};

/** The system prompt of a job at `level`, or null for `NO_AI` (inference runs no job then). */
export function systemPromptFor(level: AutonomyLevelName): string | null {
  return level === 'NO_AI' ? null : SYSTEM_PROMPTS[level];
}
