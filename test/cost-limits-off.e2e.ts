import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';

// COST_LIMITS=off exists to measure what the cost plugin costs (`npm run bench`) and for
// emergencies: the gateway then neither prices nor charges, and says nothing about cost.

const sdl = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Query {
    greeting: String
  }
`;

describe('COST_LIMITS', () => {
  let subgraph: AdHocSubgraph;
  const gateways: Partial<Record<'on' | 'off', AdHocGateway>> = {};

  beforeAll(async () => {
    subgraph = await startAdHocSubgraph('greetings', sdl, { Query: { greeting: () => 'hello' } });
    gateways.on = await startAdHocGateway([subgraph], { COST_LIMITS: 'on' });
    gateways.off = await startAdHocGateway([subgraph], { COST_LIMITS: 'off' });
  }, 120_000);
  afterAll(async () => {
    await gateways.on?.close();
    await gateways.off?.close();
    await subgraph?.close();
  });

  const ask = async (gateway: AdHocGateway) => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(await gateway.bearer()) },
      body: JSON.stringify({ query: '{ greeting }' }),
    });
    return { response, body: (await response.json()) as { data?: unknown; extensions?: { cost?: unknown } } };
  };

  it('on (the default): a response carries extensions.cost and the cost headers', async () => {
    const { response, body } = await ask(gateways.on!);
    expect(body.data).toEqual({ greeting: 'hello' });
    expect(body.extensions?.cost).toBeDefined();
    expect(response.headers.get('x-cost-estimate')).not.toBeNull();
  });

  it('off: the operation runs, with no extensions.cost and no cost headers', async () => {
    const { response, body } = await ask(gateways.off!);
    expect(body.data).toEqual({ greeting: 'hello' });
    expect(body.extensions?.cost).toBeUndefined();
    expect(response.headers.get('x-cost-estimate')).toBeNull();
  });
});
