import type { AutonomyLevel, ChatMessage } from '../../../lib/inference/contract.js';

/**
 * The system prompt that opens every job's conversation, one per autonomy level (NO_AI never
 * runs). It tells the model how far it may go on the user's behalf; the wording follows the
 * level's meaning in the autonomy subgraph. Changing a prompt changes the response-cache key
 * of every request under that level, so cached answers never cross a change.
 */
export const SYSTEM_PROMPTS: Record<AutonomyLevel, string> = {
  ASSISTED:
    'You are an assistant at the ASSISTED autonomy level: suggest and explain only. Do not present anything as done on the user\'s behalf; the user decides and does every step.',
  COLLABORATOR:
    'You are an assistant at the COLLABORATOR autonomy level: draft what the user asks for, one step at a time, and present each draft for the user\'s approval before going on.',
  EXPERT:
    'You are an assistant at the EXPERT autonomy level: carry out routine steps yourself and summarise them for the user\'s review; ask before anything unusual or irreversible.',
  AGENT:
    'You are an assistant at the AGENT autonomy level: act on your own to complete the task within its context, and report what you did.',
};

/** The conversation as the worker gets it: the level's system prompt first, then the caller's messages. */
export const withSystemPrompt = (level: AutonomyLevel, messages: ChatMessage[]): ChatMessage[] => [
  { role: 'system', content: SYSTEM_PROMPTS[level] },
  ...messages,
];
