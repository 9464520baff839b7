import { describe, expect, it } from 'vitest';

import { MAX_ACTION_ARGUMENTS_LENGTH } from '../../../lib/autonomy/actions.js';
import { BackendError } from '../backend.js';
import { createToolCallAssembler, MAX_TOOL_CALLS, type ToolCallDelta } from './tool-calls.js';

/** The calls assembled from `chunks`, each chunk one `delta.tool_calls` array. */
function assemble(chunks: ToolCallDelta[][]) {
  const assembler = createToolCallAssembler();
  for (const chunk of chunks) assembler.add(chunk);
  return assembler.finish();
}

const failure = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('it did not throw');
};

describe('assembling streamed tool calls', () => {
  it('joins the argument pieces of each call by index, taking id and name from the first piece', () => {
    expect(
      assemble([
        [{ index: 0, id: 'call_a', function: { name: 'send_email', arguments: '' } }],
        [{ index: 0, function: { arguments: '{"to": "ada@' } }],
        [{ index: 1, id: 'call_b', function: { name: 'archive_thread', arguments: '{"thr' } }],
        [{ index: 0, function: { arguments: 'example.com"}' } }],
        [{ index: 1, function: { arguments: 'ead": "t-1"}' } }],
      ]),
    ).toEqual([
      { id: 'call_a', name: 'send_email', arguments: '{"to": "ada@example.com"}' },
      { id: 'call_b', name: 'archive_thread', arguments: '{"thread": "t-1"}' },
    ]);
  });

  it('answers the calls in index order, whole calls in one piece too, and none when there were none', () => {
    expect(
      assemble([
        [{ index: 1, id: 'call_2', function: { name: 'second', arguments: '{}' } }],
        [{ index: 0, id: 'call_1', function: { name: 'first', arguments: '{"n": 1}' } }],
      ]).map((call) => call.id),
    ).toEqual(['call_1', 'call_2']);
    expect(assemble([])).toEqual([]);
  });

  it('takes a missing index as the position in the chunk, and empty arguments as {}', () => {
    expect(assemble([[{ id: 'call_x', function: { name: 'ping' } }]])).toEqual([{ id: 'call_x', name: 'ping', arguments: '{}' }]);
  });

  it('refuses a call without id or name, arguments that are not JSON, and two calls with one id (BACKEND_ERROR)', () => {
    for (const chunks of [
      [[{ index: 0, function: { name: 'no_id', arguments: '{}' } }]],
      [[{ index: 0, id: 'call_1', function: { arguments: '{}' } }]],
      [[{ index: 0, id: 'call_1', function: { name: 'cut', arguments: '{"to": "ada@' } }]],
      [[{ index: 0, id: 'call_1', function: { name: 'a', arguments: '{}' } }, { index: 1, id: 'call_1', function: { name: 'b', arguments: '{}' } }]],
    ]) {
      expect(failure(() => assemble(chunks))).toMatchObject({ name: 'BackendError', code: 'BACKEND_ERROR', message: expect.stringMatching(/malformed tool call/) });
    }
  });

  it('bounds what it holds: at most MAX_TOOL_CALLS calls, arguments at most the autonomy contract allows', () => {
    const assembler = createToolCallAssembler();
    expect(failure(() => assembler.add([{ index: MAX_TOOL_CALLS, id: 'call', function: { name: 'n' } }]))).toBeInstanceOf(BackendError);
    assembler.add([{ index: 0, id: 'call_big', function: { name: 'big', arguments: '"' + 'x'.repeat(MAX_ACTION_ARGUMENTS_LENGTH - 2) } }]);
    expect(failure(() => assembler.add([{ index: 0, function: { arguments: 'x"' } }]))).toBeInstanceOf(BackendError);
  });
});
