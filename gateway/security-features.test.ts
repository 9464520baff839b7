import { describe, expect, it } from 'vitest';

import { acknowledgeEnforcedSecurityFeatures } from './security-features.js';

describe('acknowledgeEnforcedSecurityFeatures', () => {
  it('drops the SECURITY marker only on the features the gateway enforces', () => {
    const sdl = [
      '@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)',
      '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)',
      '@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", as: "scopes", for: SECURITY)',
      '@link(url: "https://specs.apollo.dev/policy/v0.1", for: SECURITY)',
    ].join('\n');
    expect(acknowledgeEnforcedSecurityFeatures(sdl).split('\n')).toEqual([
      '@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)',
      '@link(url: "https://specs.apollo.dev/authenticated/v0.1")',
      '@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", as: "scopes")',
      '@link(url: "https://specs.apollo.dev/policy/v0.1", for: SECURITY)',
    ]);
  });
});
