// The console's Notifications panel (issue 13, item 4) in a real headless Chromium,
// against the API over HTTP on real services: an operator adds a webhook (the
// generated secret is shown once, and nowhere after a reload), sees an SSRF refusal
// explained, deletes it; an auditor does not get the panel.
import { serve, type ServerType } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, token, type ApiHarness } from '../integration/api-harness.ts';
import { uniq } from '../support/ids.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let h: ApiHarness;
let server: ServerType;
let base: string;
let browser: Browser;
const auditor = token();
const scope = uniq('ui-hooks-');

beforeAll(async () => {
  h = await startApi();
  const app = h.appWith({ API_TOKENS: `${h.tokens.operator}=user:operator, ${auditor}=user:auditor` });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await h?.close();
});

async function scopePage(tok: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  await page.goto(`${base}/`);
  await page.getByLabel('API token').fill(tok);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as').waitFor({ timeout: 15_000 });
  await page.goto(`${base}/#/scopes/${scope}`);
  await page.getByRole('heading', { name: `Scope ${scope}` }).waitFor({ timeout: 15_000 });
  return page;
}

async function axe(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await (window as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.map((x) => `${x.id}: ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

describe('Notifications panel in Chromium', () => {
  it('the operator adds a webhook, sees its secret once, sees a refusal explained, and deletes it', async () => {
    const page = await scopePage(h.tokens.operator);
    const panel = page.getByRole('region', { name: 'Notifications' });
    await panel.getByText(/No webhook/).waitFor({ timeout: 15_000 });
    expect(await axe(page)).toEqual([]);

    // Loopback is refused (SSRF) with the API's reason.
    await panel.getByLabel('Webhook id').fill('local');
    await panel.getByLabel('URL (https)').fill('http://127.0.0.1:4222/');
    await panel.getByRole('button', { name: 'Add webhook' }).click();
    await panel.getByRole('alert').getByText(/not a public address.*webhook_url_refused/).waitFor({ timeout: 10_000 });

    await panel.getByLabel('Webhook id').fill('team');
    await panel.getByLabel('URL (https)').fill('https://hooks.example.com/swarm');
    await panel.getByLabel('review.responded').uncheck();
    await panel.getByLabel('Format').selectOption('slack');
    await panel.getByRole('button', { name: 'Add webhook' }).click();
    const secret = (await panel.locator('#webhook-secret').textContent({ timeout: 10_000 }))!;
    expect(secret).toMatch(/^whsec_/);
    const row = panel.getByRole('row').filter({ hasText: 'team' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/hooks\.example\.com\/swarm.*review\.requested, review\.escalated, certificate\.issued, scope\.blocked, scope\.expired.*slack/);
    const stored = (await (await h.call('GET', `/v1/scopes/${scope}/webhooks/team`, { token: h.tokens.operator })).json()) as { events: string[]; format: string };
    expect(stored).toMatchObject({ format: 'slack', events: ['review.requested', 'review.escalated', 'certificate.issued', 'scope.blocked', 'scope.expired'] });
    expect(await axe(page)).toEqual([]);

    // Shown once: after a reload the page holds no secret.
    await page.reload();
    await page.getByRole('region', { name: 'Notifications' }).getByRole('row').filter({ hasText: 'team' }).waitFor({ timeout: 15_000 });
    expect(await page.content()).not.toContain(secret);

    await page.getByRole('button', { name: 'Delete webhook team' }).click();
    await page.getByText('Webhook team deleted.').waitFor({ timeout: 10_000 });
    await page.getByRole('region', { name: 'Notifications' }).getByText(/No webhook/).waitFor();
    expect((await h.call('GET', `/v1/scopes/${scope}/webhooks/team`, { token: h.tokens.operator })).status).toBe(404);
    await page.context().close();
  }, 90_000);

  it('an auditor reads the scope but gets no Notifications panel', async () => {
    const page = await scopePage(auditor);
    await page.getByRole('region', { name: 'Timeline' }).waitFor({ timeout: 15_000 });
    expect(await page.getByRole('region', { name: 'Notifications' }).count()).toBe(0);
    await page.context().close();
  }, 60_000);
});
