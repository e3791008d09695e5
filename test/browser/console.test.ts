// The operator console in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core), against the API served over HTTP and the whole swarm in-process
// on real services (Postgres, NATS, S3, OpenFGA, facts-worker; offline model fallbacks).
//
// Three people, as OpenFGA knows them (infra/openfga/tuples.yaml): an analyst who opens
// scopes and brings documents (ingester), an operator who answers reviews (reviewer),
// an auditor who only reads (viewer). SCREENSHOTS=docs/screenshots writes the README's
// pictures; otherwise they go to a temporary folder.
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHarness } from '../integration/api-harness.ts';
import { uniq } from '../support/ids.ts';
import { waitFor } from '../faults/support/env.ts';
import { axe, signIn as signInWith, startConsole, type ConsoleHarness } from './support.ts';

const SHOTS = process.env.SCREENSHOTS ?? join(tmpdir(), 'governed-swarm-screenshots');
const HARBOR = join(import.meta.dirname, '../../infra/demo/scenarios/harbor');

let c: ConsoleHarness<'analyst' | 'auditor'>;
let h: ApiHarness;
let base: string;
let tokens: ConsoleHarness<'analyst' | 'auditor'>['tokens'];
const scope = uniq('ui-');

beforeAll(async () => {
  c = await startConsole({ users: ['analyst', 'auditor'], swarm: true });
  ({ h, base, tokens } = c);
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);
afterAll(async () => c?.close());

/** Signed in (the top bar names the principal) or turned away (an alert): either way settled. */
const signIn = (who: keyof typeof tokens | string): Promise<{ ctx: BrowserContext; page: Page }> =>
  signInWith(c, who in tokens ? tokens[who as keyof typeof tokens] : who, 'either');

/** The answer dialog closed without an error (its text, if it did not), and the API recorded the answer. */
async function sent(page: Page, reviewId: string): Promise<void> {
  // allTextContents does not wait: a dialog gone between two calls must not stall the poll.
  await expect.poll(async () => (await page.getByRole('dialog').allTextContents()).join() || 'closed', { timeout: 15_000 }).toBe('closed');
  await page.getByRole('status').getByText(/Answer sent/).waitFor({ timeout: 5_000 });
  await waitFor(`review ${reviewId} answered`, async () => {
    const r = (await (await h.call('GET', `/v1/reviews/${reviewId}`, { token: tokens.operator })).json()) as { status: string };
    return r.status !== 'pending' ? r : undefined;
  }, { timeoutMs: 30_000 });
}

describe('operator console in Chromium', () => {
  it('a wrong token gets the sign-in page back with a message', async () => {
    const { ctx, page } = await signIn('not-a-token');
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 10_000 }).toMatch(/not accepted/);
    expect(await page.getByLabel('API token').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await axe(page)).toEqual([]);
    await ctx.close();
  });

  it('the analyst creates a scope and adds two documents that disagree: the contradiction and the chart appear without a reload', async () => {
    const { ctx, page } = await signIn('analyst');
    await page.getByRole('button', { name: 'New scope' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Scope id').fill(scope);
    await dialog.getByLabel('Governance mode').selectOption('YOLO');
    expect(await axe(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Create scope' }).click();
    await page.waitForURL(`**/#/scopes/${scope}`);
    await page.getByText('● Live').waitFor({ timeout: 15_000 });
    // A marker that a reload would wipe.
    await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));

    const add = async (file: string) => {
      await page.getByLabel('Title', { exact: true }).fill(file.replace(/\.(txt|md)$/, ''));
      await page.getByLabel('Text (paste it, or load a file below)').fill(readFileSync(join(HARBOR, file), 'utf8'));
      await page.getByRole('button', { name: 'Add document' }).click();
      await page.getByText(/Accepted as /).waitFor();
    };
    // The first document is evaluated: a round, and the chart draws it.
    await add('01-information-memorandum.md');
    await page.locator('.uplot canvas').first().waitFor({ timeout: 60_000 });
    // The second disagrees with it: the contradiction shows, each value with its document and sentence.
    await add('02-quality-of-earnings.txt');
    const contradictions = page.getByRole('region', { name: /Contradictions/ });
    await contradictions.getByText('open', { exact: true }).first().waitFor({ timeout: 60_000 });
    expect(await contradictions.getByRole('row').count()).toBeGreaterThan(1);
    const arr = await contradictions.getByRole('row').filter({ hasText: 'annual recurring revenue' }).first().textContent();
    expect(arr).toMatch(/01-information-memorandum/);
    expect(arr).toMatch(/02-quality-of-earnings/);
    expect(arr).toMatch(/48\.0 million/); // the sentences stating each value
    expect(arr).toMatch(/\$41\.3M/);
    expect(await page.getByRole('region', { name: 'Timeline' }).getByText('Document received').count()).toBeGreaterThanOrEqual(2);
    expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    // An analyst brings documents; answering is someone else's.
    expect(await page.getByRole('button', { name: 'Answer…' }).count()).toBe(0);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'console-scope.png'), fullPage: false });
    await ctx.close();
  }, 120_000);

  it('the operator answers the reviews from the inbox; the answers show in the timeline; the certificate verifies', async () => {
    const { ctx, page } = await signIn('operator');
    await page.getByRole('link', { name: 'Review inbox' }).click();
    // The governance review the critical drift raised.
    const governance = page.getByRole('listitem').filter({ hasText: 'Governance review' }).filter({ hasText: scope });
    await expect.poll(async () => {
      await page.reload();
      return governance.count();
    }, { timeout: 60_000, interval: 1_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, 'console-inbox.png') });

    // The first document's round asked for a finality review, still pending while the
    // governance review holds the cycle: answer it with a resolution (the text becomes a document).
    const early = page.getByRole('listitem').filter({ hasText: 'Finality review' }).filter({ hasText: scope });
    expect(await early.count()).toBe(1);
    const earlyId = (await early.getAttribute('id'))!.replace(/^review-/, '');
    await early.getByRole('button', { name: 'Answer…' }).click();
    await page.getByRole('dialog').getByLabel('Provide a resolution (text)').check();
    await page
      .getByRole('dialog')
      .getByLabel(/The resolution/)
      .fill('Annual recurring revenue at June 30, 2026 is $41.3M, as the quality of earnings review confirms; the $48.0M in the memorandum counts signed contracts not yet live.');
    await page.getByRole('dialog').getByRole('button', { name: 'Send answer' }).click();
    await sent(page, earlyId);

    // The dialog is a keyboard dialog: Escape closes it and nothing is sent.
    await governance.first().getByRole('button', { name: 'Answer…' }).click();
    expect(await page.getByRole('dialog').isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);

    const governanceId = (await governance.first().getAttribute('id'))!.replace(/^review-/, '');
    await governance.first().getByRole('button', { name: 'Answer…' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByText('Why it is asked').isVisible()).toBe(true);
    expect(await axe(page)).toEqual([]);
    await dialog.getByLabel('Approve the proposal').check();
    await dialog.getByLabel(/Note/).fill('Checked both documents; the QoE figure stands.');
    await dialog.getByRole('button', { name: 'Send answer' }).click();
    await sent(page, governanceId);

    // Evaluated again, the scope either asks for a finality review (answered here:
    // resolved now) or decides by itself (a certificate either way). A finality review
    // from before the approval is superseded by that evaluation: not the one to answer.
    const answeredAt = Date.now();
    const next = await waitFor('a finality review after the approval, or a certificate', async () => {
      const certs = ((await (await h.call('GET', `/v1/scopes/${scope}/certificates`)).json()) as { certificates: unknown[] }).certificates;
      const reviews = ((await (await h.call('GET', `/v1/scopes/${scope}/reviews`, { token: tokens.operator })).json()) as { reviews: { review_id: string; kind: string; created_at: string }[] }).reviews;
      const fresh = reviews.find((r) => r.kind === 'finality_review' && Date.parse(r.created_at) >= answeredAt - 1_000);
      return fresh ? { review: fresh.review_id } : certs.length > 0 ? { review: null } : undefined;
    }, { timeoutMs: 60_000 });
    console.info(`finality: ${next.review ? 'review answered in the console' : 'decided without a review'}`);
    if (next.review) {
      await page.goto(`${base}/ui/#/inbox?scope=${scope}&kind=finality_review`);
      const item = page.locator(`#review-${next.review}`);
      await item.getByRole('button', { name: 'Answer…' }).click();
      await page.getByRole('dialog').getByLabel('Mark as resolved now').check();
      await page.getByRole('dialog').getByRole('button', { name: 'Send answer' }).click();
      await sent(page, next.review);
    }

    await page.goto(`${base}/ui/#/scopes/${scope}`);
    const timeline = page.getByRole('region', { name: 'Timeline' });
    await timeline.getByText('Governance: approved').first().waitFor({ timeout: 30_000 });
    const certs = page.getByRole('region', { name: /Certificates/ });
    await certs.getByRole('button', { name: 'Verify signature' }).first().waitFor({ timeout: 60_000 });
    await certs.getByRole('button', { name: 'Verify signature' }).first().click();
    await certs.getByText(/Signature valid/).waitFor({ timeout: 10_000 });
    await ctx.close();
  }, 180_000);

  it('a reader sees the scope and answers nothing: no answer, add or create controls', async () => {
    const { ctx, page } = await signIn('auditor');
    await page.getByRole('link', { name: scope }).waitFor();
    expect(await page.getByRole('button', { name: 'New scope' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Review inbox' }).click();
    await page.getByText(/user:auditor is not a reviewer/).waitFor();
    await page.goto(`${base}/ui/#/scopes/${scope}`);
    await page.getByRole('region', { name: 'Timeline' }).getByText('Document received').first().waitFor();
    expect(await page.getByRole('button', { name: 'Answer…' }).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Add a document' }).count()).toBe(0);
    // The server holds the line too: the reader's token cannot answer through the API.
    const review = await page.evaluate(async (s) => {
      const auth = { Authorization: `Bearer ${sessionStorage.getItem('governed-swarm.token')}` };
      const list = await (await fetch(`/v1/scopes/${s}/reviews?status=all`, { headers: auth })).json();
      const id = list.reviews[0]?.review_id;
      const r = await fetch(`/v1/reviews/${id}/respond`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ option: 'approve' }) });
      return { id, status: r.status };
    }, scope);
    expect(review.id).toBeTruthy();
    expect(review.status).toBe(403);
    await ctx.close();
  }, 60_000);

  it('the scope page stays live across a dropped connection: it reconnects and shows what happened meanwhile', async () => {
    const { ctx, page } = await signIn('auditor');
    await page.goto(`${base}/ui/#/scopes/${scope}`);
    await page.getByText('● Live').waitFor({ timeout: 15_000 });
    await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
    // Every open connection dropped (a proxy restart, a network blip); a document arrives meanwhile.
    c.dropConnections();
    const title = `Late note ${uniq('')}`;
    const res = await h.call('POST', `/v1/scopes/${scope}/documents`, { json: { title, text: 'Harbor Cloud Ltd confirms 1,240 paying customers at June 30, 2026.' } });
    expect(res.status).toBe(202);
    await page.getByText('● Live').waitFor({ timeout: 30_000 });
    await page.getByRole('region', { name: 'Timeline' }).getByText(title).first().waitFor({ timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    await ctx.close();
  }, 120_000);

  it('a page still loading for an earlier navigation does not draw over the current one', async () => {
    const { ctx, page } = await signIn('auditor');
    // The scopes list answers slowly; the user goes on to a scope meanwhile.
    let slowed = 0;
    await page.route((url) => url.pathname === '/v1/scopes', async (r) => {
      slowed++;
      await new Promise((res) => setTimeout(res, 1_500));
      await r.continue();
    });
    await page.evaluate((s) => {
      location.hash = '#/inbox';
      setTimeout(() => (location.hash = '#/scopes'), 200);
      setTimeout(() => (location.hash = `#/scopes/${s}`), 400);
    }, scope);
    await expect.poll(() => slowed).toBeGreaterThan(0);
    await page.getByRole('heading', { name: `Scope ${scope}` }).waitFor();
    await page.waitForTimeout(2_500); // the slow list has answered by now
    expect(await page.getByRole('heading', { name: `Scope ${scope}` }).count()).toBe(1);
    expect(await page.getByRole('heading', { name: 'Scopes', exact: true }).count()).toBe(0);
    await ctx.close();
  }, 60_000);
});
