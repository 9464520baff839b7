import { describe, expect, it } from 'vitest';

import { createOperationNameLabeler, UNKNOWN_OPERATION } from './metrics.js';

describe('createOperationNameLabeler', () => {
  it('labels the first names it sees and counts every later one as unknown', () => {
    const label = createOperationNameLabeler({ maxNames: 2 });
    expect([label('A'), label('B'), label('C'), label('A'), label('B'), label('D')]).toEqual(['A', 'B', UNKNOWN_OPERATION, 'A', 'B', UNKNOWN_OPERATION]);
  });

  it('always labels anonymous operations and names of known (trusted) documents', () => {
    const label = createOperationNameLabeler({ maxNames: 0, isKnownOperation: (name) => name === 'Trusted' });
    expect([label('Anonymous'), label('Trusted'), label('Other'), label(undefined)]).toEqual(['Anonymous', 'Trusted', UNKNOWN_OPERATION, '']);
  });

  it('does not admit what is not a GraphQL name', () => {
    const label = createOperationNameLabeler({ maxNames: 10 });
    expect([label('has space'), label('x'.repeat(101)), label('9lives'), label('ok_1')]).toEqual([UNKNOWN_OPERATION, UNKNOWN_OPERATION, UNKNOWN_OPERATION, 'ok_1']);
  });
});
