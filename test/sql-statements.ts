import pg from 'pg';

export interface SqlStatement {
  text: string;
  values: readonly unknown[];
}

export interface SqlStatementWatch {
  /** Every statement sent since the watch began (or since `clear()`), in order. */
  readonly statements: SqlStatement[];
  /** The statements that touch `schema` (or its `table`). */
  on(schema: string, table?: string): SqlStatement[];
  /**
   * From now on, statements `matches` picks are held on their connection, unsent, until
   * `release()`: a database that is slow for them and for nobody else. Resolves once one is held.
   */
  hold(matches: (statement: SqlStatement) => boolean): Promise<void>;
  release(): void;
  clear(): void;
  [Symbol.dispose](): void;
}

/** Whether `statement` reads or writes the tables of PostgreSQL schema `schema` (one subgraph's: no other subgraph touches them), or its `table` alone. */
export function touches(statement: SqlStatement, schema: string, table?: string): boolean {
  return statement.text.includes(`"${schema}".${table ? `"${table}"` : ''}`);
}

type Query = (this: pg.Client, ...args: unknown[]) => unknown;

/**
 * Watches every statement this process's `pg` clients send to PostgreSQL, the platform's
 * pool included (Prisma's driver adapter runs on the same `pg`), by wrapping `Client#query`
 * for the test file's process. Real statements, counted where they leave for the server.
 */
export function watchSqlStatements(): SqlStatementWatch {
  const prototype = pg.Client.prototype as unknown as { query: Query };
  const original = prototype.query;
  const statements: SqlStatement[] = [];
  let held: { matches: (statement: SqlStatement) => boolean; first: () => void; released: Promise<void>; release: () => void } | null = null;
  prototype.query = function watchedQuery(this: pg.Client, ...args: unknown[]) {
    const [config, values] = args as [string | { text?: string; values?: unknown[] }, unknown];
    const statement = {
      text: typeof config === 'string' ? config : (config.text ?? ''),
      values: Array.isArray(values) ? values : typeof config === 'string' ? [] : (config.values ?? []),
    };
    statements.push(statement);
    if (!held?.matches(statement)) return original.apply(this, args);
    held.first();
    const sent = held.released.then(() => original.apply(this, args));
    // The callback form (pg-pool's) answers through its callback; the promise form through the result.
    return typeof args.at(-1) === 'function' ? undefined : sent;
  };
  const release = () => {
    held?.release();
    held = null;
  };
  return {
    statements,
    on: (schema, table) => statements.filter((statement) => touches(statement, schema, table)),
    hold: (matches) =>
      new Promise((first) => {
        let releaseHeld = () => {};
        const released = new Promise<void>((resolve) => (releaseHeld = resolve));
        held = { matches, first: () => first(), released, release: releaseHeld };
      }),
    release,
    clear: () => void statements.splice(0),
    [Symbol.dispose]() {
      release();
      prototype.query = original;
    },
  };
}
