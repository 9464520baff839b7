import { MAX_ACTION_ARGUMENTS_LENGTH } from '../../../lib/autonomy/actions.js';
import type { ToolCall } from '../../../lib/inference/index.js';
import { BackendError } from '../backend.js';

/** One piece of a streamed tool call, an entry of `choices[0].delta.tool_calls`. */
export interface ToolCallDelta {
  /** Which call the piece belongs to (0, 1, …); servers that stream one call may leave it out. */
  index?: number;
  id?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

/** @default 16 // tool calls in one completion: more is a runaway model, not a plan a user reviews. */
export const MAX_TOOL_CALLS = 16;
/** @default 128 // characters of a tool's name or a call id (the autonomy contract's bound on names). */
const MAX_TOOL_NAME_LENGTH = 128;

const malformed = (what: string) => new BackendError('BACKEND_ERROR', `the model server sent a malformed tool call: ${what}`);

/**
 * Assembles the tool calls of a streamed chat completion, OpenAI style: the first piece of a
 * call carries its `index`, `id` and `function.name`, later pieces with the same `index` carry
 * further text of `function.arguments`, which is concatenated. `id` and `name` are taken from
 * the first piece that has them. Bounded as it goes (at most MAX_TOOL_CALLS calls, arguments
 * at most MAX_ACTION_ARGUMENTS_LENGTH characters, what the autonomy contract accepts);
 * `finish` checks each call is complete, its arguments JSON (empty means `{}`), and answers
 * them by index; two calls with one id are refused too. Anything else throws BackendError (BACKEND_ERROR): a proposal the user could
 * not be shown must not pass as a completed job.
 */
export function createToolCallAssembler() {
  const calls = new Map<number, { id: string | null; name: string | null; arguments: string }>();
  return {
    add(deltas: readonly ToolCallDelta[]): void {
      deltas.forEach((delta, position) => {
        const index = delta.index ?? position;
        if (!Number.isInteger(index) || index < 0 || index >= MAX_TOOL_CALLS) throw malformed(`index ${index} is not 0 to ${MAX_TOOL_CALLS - 1}`);
        const call = calls.get(index) ?? { id: null, name: null, arguments: '' };
        call.id ??= delta.id || null;
        call.name ??= delta.function?.name || null;
        call.arguments += delta.function?.arguments ?? '';
        if (call.arguments.length > MAX_ACTION_ARGUMENTS_LENGTH) throw malformed(`arguments longer than ${MAX_ACTION_ARGUMENTS_LENGTH} characters`);
        calls.set(index, call);
      });
    },
    finish(): ToolCall[] {
      const ids = new Set<string>();
      return [...calls.entries()]
        .sort(([a], [b]) => a - b)
        .map(([index, call]) => {
          if (!call.id || call.id.length > MAX_TOOL_NAME_LENGTH) throw malformed(`call ${index} has no id or one over ${MAX_TOOL_NAME_LENGTH} characters`);
          // Each call becomes one action, whose id is derived from the call's.
          if (ids.has(call.id)) throw malformed(`two calls have the id ${JSON.stringify(call.id)}`);
          ids.add(call.id);
          if (!call.name || call.name.length > MAX_TOOL_NAME_LENGTH) throw malformed(`call ${index} has no name or one over ${MAX_TOOL_NAME_LENGTH} characters`);
          const args = call.arguments.trim() === '' ? '{}' : call.arguments;
          try {
            JSON.parse(args);
          } catch {
            throw malformed(`the arguments of ${call.name} are not JSON`);
          }
          return { id: call.id, name: call.name, arguments: args };
        });
    },
  };
}
