
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchChromium } from './chromium.js';
import { type AdHocGateway, type AdHocSubgraph, startAdHocGateway, startAdHocSubgraph } from './gateway-kit.js';

describe('GraphiQL without internet', () => {
  let hello: AdHocSubgraph;
  let gateway: AdHocGateway;
  let browser: Browser;

  beforeAll(async () => {
    hello = await startAdHocSubgraph('hello', 'type Query { greeting: String }', { Query: { greeting: () => 'hello from the subgraph' } });
    gateway = await startAdHocGateway([hello]);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await hello?.close();
  });

  it('regression: GraphiQL was a blank "Loading" page offline (assets from a CDN); now it loads from the gateway alone and runs a query', { timeout: 120_000 }, async () => {
    const page = await browser.newPage();
    const gatewayOrigin = new URL(gateway.url).origin;
    const blocked: string[] = [];
    // The network is the gateway and nothing else: every other request fails as it would offline.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(gatewayOrigin) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
      blocked.push(url);
      return route.abort('internetdisconnected');
    });
    await page.goto(gateway.url);
    // The query editor (Monaco) exists only once GraphiQL's scripts ran; the run button is
    // enabled once the schema is introspected. A loaded machine takes its time with 9 MB of script.
    await page.waitForSelector('.graphiql-execute-button:not([disabled])', { timeout: 60_000 });
    await page.click('.graphiql-query-editor', { timeout: 30_000 });
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText('{ greeting');
    // The editor closes the brace itself where its auto-closing is on.
    const typed = await page.textContent('.graphiql-query-editor .view-lines');
    if (!typed?.includes('}')) await page.keyboard.insertText('}');
    // GraphiQL's run shortcut, from the editor that has the focus.
    await page.keyboard.press('ControlOrMeta+Enter');
    await page
      // Monaco lays text out with non-breaking spaces.
      .waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.replace(/\s/g, ' ').includes('"greeting": "hello from the subgraph"'), undefined, {
        timeout: 30_000,
      })
      .catch(async (error: unknown) => {
        const button = await page.evaluate(() => document.querySelector('.graphiql-execute-button')?.outerHTML.slice(0, 300));
        throw new Error(`no answer; editor: ${await page.textContent('.graphiql-query-editor .view-lines')}; run button: ${button}; response: ${await page.textContent('.graphiql-response')}`, {
          cause: error,
        });
      });
    expect(blocked).toEqual([]);
  });
});
