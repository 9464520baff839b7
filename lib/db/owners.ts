import { SUBGRAPH_NAMES, type SubgraphName } from '../subgraph-list.js';
import type { MigrationSet } from './migrations.js';

/** Every subgraph owns tables: each has `prisma/<name>/schema.prisma` and its migrations. */
export const TABLE_OWNERS = SUBGRAPH_NAMES;
export type TableOwner = SubgraphName;

const prismaDir = new URL('../../prisma/', import.meta.url);

export function schemaFileOf(owner: TableOwner): string {
  return new URL(`${owner}/schema.prisma`, prismaDir).pathname;
}

/** Each owner's tables live in the PostgreSQL schema of the same name. */
export function migrationSetOf(owner: TableOwner): MigrationSet {
  return { schema: owner, directory: new URL(`${owner}/migrations`, prismaDir).pathname };
}
