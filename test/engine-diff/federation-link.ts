/** The `@link` to federation v2.9 importing `imports`, which each fixture subgraph starts with. */
export const federation = (...imports: string[]) => `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ${JSON.stringify(imports)})`;
