import { badUserInput } from './errors.js';

/** @default 100 // items per page at most: a page is one query, and clients page on with `after`. */
export const MAX_PAGE_SIZE = 100;

/**
 * Cursors are opaque to clients: base64url of `<kind>:<position>`, the position being the
 * row's sequence number, so a page starts after it whatever was added or decided since.
 */
export function cursorOf(kind: string, position: bigint): string {
  return Buffer.from(`${kind}:${position}`).toString('base64url');
}

/** `first` and the position `after` names; BAD_USER_INPUT for a size out of range or a cursor not of `kind`. */
export function pageArguments(kind: string, first: number, after: string | null | undefined): { first: number; after: bigint | null } {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badUserInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, { argument: 'first' });
  }
  if (after == null) return { first, after: null };
  const match = /^([a-z]+):(\d{1,19})$/.exec(Buffer.from(after, 'base64url').toString('utf8'));
  if (!match || match[1] !== kind) throw badUserInput('after is not a cursor of this list', { argument: 'after' });
  return { first, after: BigInt(match[2]!) };
}

/** A connection from up to `first + 1` rows (an extra row says there is a next page), each at `positionOf(row)`. */
export function connectionOf<Row>(kind: string, rows: Row[], first: number, positionOf: (row: Row) => bigint) {
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ cursor: cursorOf(kind, positionOf(node)), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}
