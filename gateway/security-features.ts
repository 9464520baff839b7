/**
 * Security features of the supergraph that this gateway enforces itself
 * (authorization/use-auth-directives.ts): @authenticated and @requiresScopes.
 */
export const ENFORCED_SECURITY_FEATURES = [
  'https://specs.apollo.dev/authenticated/v0.1',
  'https://specs.apollo.dev/requiresScopes/v0.1',
];

/**
 * `@apollo/gateway` refuses to load a supergraph that links a `for: SECURITY` feature it
 * does not implement, rightly: it would silently ignore it. We implement these two, so the
 * SDL handed to it drops the `for: SECURITY` marker on exactly those links; any other
 * security feature (e.g. @policy) keeps its marker, and the gateway still refuses to start.
 */
export function acknowledgeEnforcedSecurityFeatures(supergraphSdl: string): string {
  return supergraphSdl.replace(/@link\(url: "([^"]+)"((?:, as: "[^"]*")?), for: SECURITY\)/g, (whole, url: string, alias: string) =>
    ENFORCED_SECURITY_FEATURES.includes(url) ? `@link(url: "${url}"${alias})` : whole,
  );
}
