/**
 * The platform's subgraphs, in one place. What can be derived is derived from here: the
 * all-in-one platform's subgraphs and `<NAME>_PORT` settings, each subgraph's default port
 * (and so its metrics port), the table owners (migrations, Prisma clients), the codegen
 * targets, the generated-code checks and the k8s test's processes. What cannot (supergraph.yaml,
 * k8s/base, the Dockerfile's ports, the subgraph's own folder) is on the README's "Adding a
 * subgraph" checklist, and test/subgraph-list.test.ts checks that all of it agrees with this.
 */
export const SUBGRAPHS = {
  users: { port: 4001 },
  inference: { port: 4002 },
  usage: { port: 4003 },
  autonomy: { port: 4004 },
} as const satisfies Record<string, { port: number }>;

export type SubgraphName = keyof typeof SUBGRAPHS;

export const SUBGRAPH_NAMES = Object.keys(SUBGRAPHS) as readonly SubgraphName[];

export function isSubgraphName(name: string): name is SubgraphName {
  return Object.hasOwn(SUBGRAPHS, name);
}
