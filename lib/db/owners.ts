import type { MigrationSet } from './migrations.js';

/** The subgraphs that own tables; each has `prisma/<name>/schema.prisma` and its migrations. */
export const TABLE_OWNERS = ['users', 'inference', 'usage', 'autonomy'] as const;
export type TableOwner = (typeof TABLE_OWNERS)[number];

const prismaDir = new URL('../../prisma/', import.meta.url);

export function schemaFileOf(owner: TableOwner): string {
  return new URL(`${owner}/schema.prisma`, prismaDir).pathname;
}

/** Each owner's tables live in the PostgreSQL schema of the same name. */
export function migrationSetOf(owner: TableOwner): MigrationSet {
  return { schema: owner, directory: new URL(`${owner}/migrations`, prismaDir).pathname };
}
