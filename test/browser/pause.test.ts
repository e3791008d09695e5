// Pause, resume, close in the operator console (issue 13, item 5), in a real headless
// Chromium against the API over HTTP and the whole swarm in-process on the real services
// (as test/browser/console.test.ts). The operator has the buttons (close behind a
// confirmation that Cancel leaves untouched); the auditor has none, and sees the badge
// appear live, from the scope's event stream, without a reload.
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHarness } from '../integration/api-harness.ts';
import { uniq } from '../support/ids.ts';
import { axe, signIn, startConsole, type ConsoleHarness } from './support.ts';

let c: ConsoleHarness<'auditor'>;
let h: ApiHarness;
let tokens: ConsoleHarness<'auditor'>['tokens'];
const scope = uniq('uihold-');

beforeAll(async () => {
  c = await startConsole({ users: ['auditor'], swarm: true });
  ({ h, tokens } = c);
  expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
}, 120_000);
afterAll(async () => c?.close());

async function openScope(who: keyof typeof tokens): Promise<{ ctx: BrowserContext; page: Page }> {
  const { ctx, page } = await signIn(c, tokens[who]);
  await page.goto(`${c.base}/#/scopes/${scope}`);
  await page.getByText('● Live').waitFor({ timeout: 15_000 });
  return { ctx, page };
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
