// Edit before approve (issue 13, item 2) in the console, in a real headless Chromium (Debian's
// `chromium`, driven by playwright-core) against the API over HTTP and the whole swarm
// in-process on real services. The operator opens the governance review the harbor
// documents' critical drift raises, amends the plan (a bad action first: the API's answer
// shows in the dialog, which stays open), approves; the scope page then shows the plan as
// approved beside the plan as proposed, and the timeline the amended plan.
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHarness } from '../integration/api-harness.ts';
import { waitFor } from '../faults/support/env.ts';
import { uniq } from '../support/ids.ts';
import { axe, startConsole, type ConsoleHarness } from './support.ts';

const SHOTS = process.env.SCREENSHOTS ?? join(tmpdir(), 'governed-swarm-screenshots');
const HARBOR = join(import.meta.dirname, '../../infra/demo/scenarios/harbor');
type ReviewJson = { review_id: string; kind: string; status: string; request: { proposal?: { reason?: string; plan?: { actions: string[] } } }; response: Record<string, unknown> | null };

let c: ConsoleHarness<never>;
let h: ApiHarness;
let base: string;
const scope = uniq('uiam-');

beforeAll(async () => {
  c = await startConsole({ swarm: true });
  ({ h, base } = c);
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);
afterAll(async () => c?.close());

const review = async (id: string) => (await (await h.call('GET', `/v1/reviews/${id}`, { token: h.tokens.operator })).json()) as ReviewJson;

describe('amend before approving, in the console', () => {
  it('the operator approves the planner’s proposal with an amended plan; the scope page shows approved beside proposed', async () => {
    expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
    for (const file of ['01-information-memorandum.md', '02-quality-of-earnings.txt']) {
      expect((await h.call('POST', `/v1/scopes/${scope}/documents`, { json: { title: file, text: readFileSync(join(HARBOR, file), 'utf8') } })).status).toBe(202);
    }
    const pending = await waitFor('the governance review of the planner’s proposal', async () => {
      const list = ((await (await h.call('GET', `/v1/scopes/${scope}/reviews`, { token: h.tokens.operator })).json()) as { reviews: ReviewJson[] }).reviews;
      return list.find((r) => r.kind === 'governance_review');
    }, { timeoutMs: 60_000 });
    const proposed = pending.request.proposal!.plan!.actions;

    const ctx = await c.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${base}/`);
    await page.getByLabel('API token').fill(h.tokens.operator);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in as').waitFor({ timeout: 15_000 });
    await page.goto(`${base}/ui/#/inbox?scope=${scope}&kind=governance_review`);
    await page.locator(`#review-${pending.review_id}`).getByRole('button', { name: 'Answer…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`proposed plan: ${proposed.join(', ')}`).waitFor();

    // Only with an approval, and only when asked for.
    await dialog.getByLabel('Reject the proposal').check();
    expect(await dialog.getByLabel('Approve with my changes to the reason and plan').isVisible()).toBe(false);
    await dialog.getByLabel('Approve the proposal').check();
    await dialog.getByLabel('Approve with my changes to the reason and plan').check();
    const plan = dialog.getByLabel('Plan: one action per line');
    expect(await plan.inputValue()).toBe(proposed.join('\n'));
    expect(await axe(page)).toEqual([]);

    // An action that is no lower-case word: the API says so, the dialog stays, nothing is answered.
    await plan.fill([...proposed, 'Call The Seller'].join('\n'));
    await dialog.getByRole('button', { name: 'Send answer' }).click();
    await dialog.getByRole('alert').getByText(/invalid_amendment/).waitFor({ timeout: 10_000 });
    expect((await review(pending.review_id)).status).toBe('pending');

    const amended = [...proposed, 'halt_and_review'];
    await plan.fill(`${amended.join('\n')}\n`);
    await dialog.getByLabel('Reason', { exact: true }).fill('hold: the ARR bridge is to be reconciled first');
    await page.screenshot({ path: join(SHOTS, 'console-amend.png') });
    await dialog.getByRole('button', { name: 'Send answer' }).click();
    await page.getByRole('status').getByText(/Answer sent: Approve the proposal \(as amended\)/).waitFor({ timeout: 15_000 });
    const answered = await waitFor('the amended approval recorded', async () => {
      const r = await review(pending.review_id);
      return r.status === 'approved' ? r : undefined;
    }, { timeoutMs: 30_000 });
    expect(answered.response).toMatchObject({ amendment: { changed: ['reason', 'plan'], amended: { plan: { actions: amended } }, original: { plan: { actions: proposed } } } });

    // The scope page: approved beside proposed, and the plan in force in the timeline.
    await page.goto(`${base}/ui/#/scopes/${scope}`);
    const shown = page.locator(`#amended-${pending.review_id}`);
    await shown.waitFor({ timeout: 30_000 });
    const row = shown.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'Plan' }) });
    expect(await row.getByRole('cell').allTextContents()).toEqual([amended.join(', '), proposed.join(', ')]);
    expect(await shown.textContent()).toContain('approved as amended by user:operator');
    await page.getByRole('region', { name: 'Timeline' }).getByText('Plan amended by a reviewer').first().waitFor({ timeout: 30_000 });
    await shown.screenshot({ path: join(SHOTS, 'console-amended.png') });
    expect(await axe(page)).toEqual([]);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 180_000);
});
