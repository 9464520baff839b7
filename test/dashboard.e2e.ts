import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AIOPS_ALERTS_CHANNEL } from '../lib/live/keys.js';
import { prefixedChannel, publishLive } from '../lib/live/pubsub.js';
import { serializeAlertEvent } from '../subgraphs/usage/domain/aiops/alert-events.js';
import { launchChromium } from './chromium.js';
import { startTestPlatform, type TestPlatform } from './kit.js';

describe('the live dashboard at /dashboard', () => {
  let platform: TestPlatform;
  let browser: Browser;

  beforeAll(async () => {
    platform = await startTestPlatform();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it('subscribes to platformMetrics and redraws as traffic changes the numbers', async () => {
    const adminToken = await platform.tokenFor(randomUUID(), { roles: ['admin'] });
    const page = await browser.newPage();
    const dashboardUrl = platform.gatewayUrl.replace(/\/graphql$/, '/dashboard');
    await page.goto(dashboardUrl);
    await page.fill('#token', adminToken);
    await page.selectOption('#interval', '1');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => Number(document.getElementById('updates')!.textContent) >= 1, undefined, { timeout: 10_000 });
    const rate = () => page.getAttribute('[data-metric=requestsPerSecond] .value', 'data-raw').then(Number);
    const before = await rate();

    for (let i = 0; i < 40; i++) await platform.query('{ models { id } }');
    await page.waitForFunction(
      (previous) => Number(document.querySelector('[data-metric=requestsPerSecond] .value')!.getAttribute('data-raw')) > previous,
      before,
      { timeout: 10_000 },
    );
    expect(await rate()).toBeGreaterThan(before);
    expect(await page.textContent('#status')).toBe('Live.');
    expect(Number(await page.getAttribute('[data-metric=openSubscriptions] .value', 'data-raw'))).toBeGreaterThanOrEqual(1);
    const points = await page.getAttribute('[data-metric=requestsPerSecond] polyline', 'points');
    expect(points!.split(' ').length).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: path.join(tmpdir(), 'lotabots-dashboard.png'), fullPage: true });
  });

  it('shows alerts in its Alerts panel as alertEvents raises and resolves them', async () => {
    const page = await browser.newPage();
    await page.goto(platform.gatewayUrl.replace(/\/graphql$/, '/dashboard'));
    await page.fill('#token', await platform.tokenFor(randomUUID(), { roles: ['admin'] }));
    await page.click('button[type=submit]');
    // Ready when the usage subgraph listens for alert events on the page's behalf.
    const channel = prefixedChannel(platform.redis, AIOPS_ALERTS_CHANNEL);
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'Live.', undefined, { timeout: 10_000 });
    for (;;) {
      const [, listeners] = (await platform.redis.pubsub('NUMSUB', channel)) as [string, number];
      if (Number(listeners) >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // What a replica publishes when it raises an alert (the detector itself is tested in aiops.e2e.ts).
    const alert = {
      id: randomUUID(), seq: 1n, metric: 'P95_LATENCY', firingMetric: 'P95_LATENCY', state: 'FIRING', severity: 'CRITICAL',
      value: 5_000, baseline: 40, threshold: 250, startedAt: new Date(), resolvedAt: null, resolvedValue: null,
    };
    await publishLive(platform.redis, AIOPS_ALERTS_CHANNEL, serializeAlertEvent({ kind: 'RAISED', alert }));
    const item = page.locator('#alert-list li[data-metric=P95_LATENCY]');
    await item.waitFor({ timeout: 10_000 });
    expect(await item.getAttribute('data-state')).toBe('FIRING');
    expect(await item.textContent()).toContain('CRITICAL P95_LATENCY: 5.00e+3');
    await publishLive(platform.redis, AIOPS_ALERTS_CHANNEL, serializeAlertEvent({ kind: 'RESOLVED', alert: { ...alert, state: 'RESOLVED', firingMetric: null, resolvedAt: new Date(), resolvedValue: 41 } }));
    await page.waitForFunction(() => document.querySelector('#alert-list li[data-metric=P95_LATENCY]')?.getAttribute('data-state') === 'RESOLVED', undefined, { timeout: 10_000 });
    expect(await page.locator('#alert-list li').count()).toBe(1);
  });

  it('says why when the token may not read metrics', async () => {
    const page = await browser.newPage();
    await page.goto(platform.gatewayUrl.replace(/\/graphql$/, '/dashboard'));
    await page.fill('#token', await platform.tokenFor(randomUUID()));
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.getElementById('status')!.classList.contains('error'), undefined, { timeout: 10_000 });
    expect(await page.textContent('#status')).toMatch(/^Disconnected: Unauthorized field or type: Subscription\.platformMetrics/);
  });
});
