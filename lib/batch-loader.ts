import DataLoader from 'dataloader';

/** Loads the value of one key; calls made while a request resolves one level share one query. */
export type BatchLoader<Key, Value> = (key: Key) => Promise<Value>;

export interface BatchLoaderOptions<Key, Value> {
  /**
   * One query for every distinct key of a batch, answering with the values it found by `idOf`
   * of their keys. It must answer each key from rows of that key alone: a batch holds the keys
   * of many parents, and ownership is checked per parent, never per batch.
   */
  loadMany(keys: Key[]): Promise<ReadonlyMap<string, Value>>;
  /** What a key the query found nothing for loads as (null, an empty list, zero totals). */
  missing: Value;
  /** @default String(key) // keys with the same id are asked for once per batch. */
  idOf?: (key: Key) => string;
}

/**
 * A DataLoader-style loader, made per request in a subgraph's context factory: every `load`
 * of the same tick (all the parents of one level of a selection, all the representations of
 * one `_entities` call) becomes one `loadMany` call, so a nested selection costs one query per
 * level and entity type, not one per parent.
 *
 * Nothing is memoised beyond its batch (DataLoader `cache: false`): a context lives as long as
 * its operation, a subscription's across all its events and a mutation's across its writes,
 * and each load must see the database as it is then. Equal keys within a batch are still asked
 * for once.
 */
export function createBatchLoader<Key, Value>(options: BatchLoaderOptions<Key, Value>): BatchLoader<Key, Value> {
  const idOf = options.idOf ?? String;
  const loader = new DataLoader<Key, Value>(
    async (keys) => {
      const distinct = new Map<string, Key>();
      for (const key of keys) distinct.set(idOf(key), key);
      const found = await options.loadMany([...distinct.values()]);
      return keys.map((key) => found.get(idOf(key)) ?? options.missing);
    },
    { cache: false },
  );
  return (key) => loader.load(key);
}

/** `rows` by `keyOf(row)`, each key with all its rows in their order (for one-to-many loads). */
export function groupBy<Row>(rows: readonly Row[], keyOf: (row: Row) => string): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}
