// Pause, resume, close in the operator console (issue 13, item 5), in a real headless
// Chromium against the API over HTTP and the whole swarm in-process on the real services
// (as test/browser/console.test.ts). The operator has the buttons (close behind a
// confirmation that Cancel leaves untouched); the auditor has none, and sees the badge
// appear live, from the scope's event stream, without a reload.
import { serve, type ServerType } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwarm, type SwarmRuntime } from '../../infra/swarm/runtime.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { startApi, token, type ApiHarness } from '../integration/api-harness.ts';
import { uniq } from '../support/ids.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let h: ApiHarness;
let swarm: SwarmRuntime;
let server: ServerType;
let base: string;
let browser: Browser;
const tokens = { auditor: token(), operator: '' };
const scope = uniq('uihold-');

beforeAll(async () => {
  h = await startApi();
  tokens.operator = h.tokens.operator;
  const app = h.appWith({ API_TOKENS: `${h.tokens.operator}=user:operator, ${tokens.auditor}=user:auditor` });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env = { ...h.env, BRIDGE_DEPLOYMENT_ID: uniq('uihold-'), BRIDGE_HEALTH_PORT: 0, BRIDGE_INBOX_CLEANUP_MS: 0 };
  swarm = await startSwarm(env, { deps: createDeps({ env, db: h.guarded }) });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await swarm?.stop();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await h?.close();
});

async function openScope(who: keyof typeof tokens): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  await page.goto(`${base}/`);
  await page.getByLabel('API token').fill(tokens[who]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as').waitFor({ timeout: 15_000 });
  await page.goto(`${base}/#/scopes/${scope}`);
  await page.getByText('● Live').waitFor({ timeout: 15_000 });
  return { ctx, page };
}

async function axe(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await (window as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe.run({
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] },
    });
    return r.violations.map((x) => `${x.id}: ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

const hold = async () => ((await (await h.call('GET', `/v1/scopes/${scope}`, { token: tokens.operator })).json()) as { hold: string | null }).hold;

describe('pause, resume, close in the console', () => {
  it('the operator pauses, resumes and closes (close behind a confirmation); the auditor has no buttons and sees the badge live', async () => {
    const auditor = await openScope('auditor');
    const op = await openScope('operator');
    const heading = (page: Page) => page.locator('.heading');
    expect(await heading(auditor.page).getByRole('button').count()).toBe(0);
    expect(await heading(op.page).getByRole('button').allTextContents()).toEqual(['Pause', 'Close…']);

    // Pause, with a reason.
    await heading(op.page).getByRole('button', { name: 'Pause' }).click();
    const dialog = op.page.getByRole('dialog');
    await dialog.getByLabel(/Reason/).fill('checking the seller’s figures');
    expect(await axe(op.page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Pause' }).click();
    await op.page.getByRole('status').getByText('Scope paused').waitFor({ timeout: 10_000 });
    await heading(op.page).getByText('Paused', { exact: true }).waitFor({ timeout: 10_000 });
    expect(await hold()).toBe('paused');
    expect(await heading(op.page).getByRole('button').allTextContents()).toEqual(['Resume', 'Close…']);
    // The auditor's page follows the event stream: the badge appears without a reload.
    await heading(auditor.page).getByText('Paused', { exact: true }).waitFor({ timeout: 15_000 });
    await op.page.locator('.timeline').getByText('scope paused (by user:operator): checking the seller’s figures').waitFor({ timeout: 10_000 });

    // Resume.
    await heading(op.page).getByRole('button', { name: 'Resume' }).click();
    await op.page.getByRole('dialog').getByRole('button', { name: 'Resume' }).click();
    await op.page.getByRole('status').getByText('Scope resumed').waitFor({ timeout: 10_000 });
    await expect.poll(() => heading(op.page).getByText('Paused', { exact: true }).count(), { timeout: 10_000 }).toBe(0);
    expect(await hold()).toBeNull();

    // Close asks first; Cancel does nothing.
    await heading(op.page).getByRole('button', { name: 'Close…' }).click();
    const confirm = op.page.getByRole('dialog');
    await confirm.getByText(/cannot be undone/).waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => op.page.getByRole('dialog').count()).toBe(0);
    expect(await hold()).toBeNull();
    await heading(op.page).getByRole('button', { name: 'Close…' }).click();
    await op.page.getByRole('dialog').getByRole('button', { name: 'Close scope permanently' }).click();
    await op.page.getByRole('status').getByText('Scope closed').waitFor({ timeout: 10_000 });
    await heading(op.page).getByText('Closed', { exact: true }).waitFor({ timeout: 10_000 });
    expect(await hold()).toBe('closed');
    // Nothing more to do on a closed scope: no buttons, for anyone.
    expect(await heading(op.page).getByRole('button').count()).toBe(0);
    await heading(auditor.page).getByText('Closed', { exact: true }).waitFor({ timeout: 15_000 });
    expect(await axe(op.page)).toEqual([]);
    await auditor.ctx.close();
    await op.ctx.close();
  }, 120_000);
});
