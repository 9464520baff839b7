import { SYSTEM_PROMPTS } from '../../../lib/autonomy/prompts.js';
import type { AutonomyLevel, ChatMessage } from '../../../lib/inference/contract.js';

/**
 * The conversation as the worker gets it: the level's system prompt (lib/autonomy/prompts.ts,
 * shared with the autonomy subgraph) first, then the caller's messages. Changing a prompt
 * changes the response-cache key of every request under that level, so cached answers never
 * cross a change.
 */
export const withSystemPrompt = (level: AutonomyLevel, messages: ChatMessage[]): ChatMessage[] => [
  { role: 'system', content: SYSTEM_PROMPTS[level] },
  ...messages,
];
