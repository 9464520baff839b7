import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

import { createPglite } from './pglite-template.js';

export interface SqlRunner {
  /** One parameterised statement; rows as plain objects. */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** A script of several statements without parameters (a migration file). */
  exec(script: string): Promise<void>;
}

/**
 * A PostgreSQL database, real (`pg` pool) or embedded (PGlite), with the driver adapter that
 * each subgraph's Prisma client is built on. Owned by whoever opened it: `close()` once.
 */
export interface Database extends SqlRunner {
  readonly kind: 'postgres' | 'pglite';
  /** Driver adapter factory for `new PrismaClient({ adapter })`. */
  readonly adapter: SqlMigrationAwareDriverAdapterFactory;
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** `postgres://…` for a real server; unset for embedded PGlite. */
  url?: string | undefined;
  /** PGlite data directory, or `memory://` for a throwaway database. Used only without `url`. */
  embeddedDataDir: string;
  /** Pool size for a real server. */
  poolSize: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.poolSize) : openPglite(options.embeddedDataDir);
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5_000 });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const runner = (client: pg.Pool | pg.PoolClient): SqlRunner => ({
    query: async <Row>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as Row[],
    exec: async (script: string) => {
      await client.query(script);
    },
  });
  const database: Database = {
    kind: 'postgres',
    adapter: new PrismaPg(pool),
    ...runner(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(runner(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
  await database.ping();
  return database;
}

async function openPglite(dataDir: string): Promise<Database> {
  const db = await createPglite(dataDir);
  const runner = (client: Pick<PGlite, 'query' | 'exec'>): SqlRunner => ({
    query: async <Row>(sql: string, params?: unknown[]) => (await client.query<Row>(sql, params)).rows,
    exec: async (script: string) => {
      await client.exec(script);
    },
  });
  return {
    kind: 'pglite',
    adapter: new PrismaPGlite(db),
    ...runner(db),
    transaction: (fn) => db.transaction((tx) => fn(runner(tx))),
    async ping() {
      await db.query('SELECT 1');
    },
    // PGlite keeps Node's event loop alive until closed (see shared notes).
    async close() {
      if (!db.closed) await db.close();
    },
  };
}
