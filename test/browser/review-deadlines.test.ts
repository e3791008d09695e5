// The console shows a review's deadline (issue 13, item 3): "due in …, then …" on a
// pending review, "overdue, escalated to group:…" on an escalated one; a member of that
// group finds it in the inbox and answers it. Headless Chromium (Debian's `chromium`,
// playwright-core) against the API over HTTP on the real services; the reviews are
// written to the queue as the steps would leave them (the deadline path itself is
// test/integration/review-deadlines.test.ts), with the shipped governance.yaml.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHarness } from '../integration/api-harness.ts';
import { uniq } from '../support/ids.ts';
import { signIn as signInAs, startConsole, type ConsoleHarness } from './support.ts';

const H = 3_600_000;

let c: ConsoleHarness<'lead'>;
let h: ApiHarness;
let base: string;
let tokens: ConsoleHarness<'lead'>['tokens'];
const scope = uniq('uidl-');
const fresh = `gov-${uniq('fresh-')}`;
const escalated = `gov-${uniq('esc-')}`;

beforeAll(async () => {
  c = await startConsole({ users: ['lead'] });
  ({ h, base, tokens } = c);
  expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
  await h.admin.write([{ user: 'user:lead', relation: 'member', object: 'group:review-leads' }]);
  const request = (to: string) => JSON.stringify({ proposal: { proposal_id: `p-${to}`, proposer: 'facts', action: 'advance_state', from: 'ContextIngested', to: 'FactsExtracted', expected_epoch: 0 }, reasons: [{ code: 'mitl', message: 'MITL: a human approves every step' }] });
  const now = Date.now();
  await h.db.pool.query(
    `INSERT INTO review_queue (review_id, scope_id, kind, request, created_at) VALUES ($1, $2, 'governance_review', $3, $4)`,
    [fresh, scope, request('fresh'), new Date(now - 1 * H)],
  );
  await h.db.pool.query(
    `INSERT INTO review_queue (review_id, scope_id, kind, request, created_at, escalation_level, escalated_to, escalated_at)
     VALUES ($1, $2, 'governance_review', $3, $4, 1, 'group:review-leads', $5)`,
    [escalated, scope, request('esc'), new Date(now - 30 * H), new Date(now - 1 * H)],
  );
}, 120_000);
afterAll(async () => c?.close());

const signIn = async (t: string): Promise<Page> => (await signInAs(c, t)).page;

const card = (page: Page, id: string) => page.locator(`#review-${id}`);

describe('review deadlines in the console', () => {
  it("the scope page shows each pending review's deadline and what happens then", async () => {
    const page = await signIn(tokens.operator);
    await page.goto(`${base}/#/scopes/${scope}`);
    await card(page, fresh).waitFor({ timeout: 15_000 });
    expect(await card(page, fresh).locator('.deadline').textContent()).toMatch(/Due in 23 h, then escalated to group:review-leads/);
    expect(await card(page, escalated).locator('.deadline').textContent()).toMatch(/Overdue, escalated to group:review-leads · due in 47 h, then rejected automatically/);
    await page.context().close();
  });

  it('a member of the group finds the escalated review (only it) in the inbox and answers it', async () => {
    const page = await signIn(tokens.lead);
    await page.goto(`${base}/#/inbox`);
    await card(page, escalated).waitFor({ timeout: 15_000 });
    expect(await page.locator('li.review').count()).toBe(1);
    expect(await card(page, escalated).textContent()).toMatch(/overdue, escalated to group:review-leads/i);
    await card(page, escalated).getByRole('button', { name: 'Answer…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Approve the proposal').check();
    await dialog.getByRole('button', { name: 'Send answer' }).click();
    await page.getByRole('status').getByText(/Answer sent/).waitFor({ timeout: 15_000 });
    // The API recorded it as allowed by the group membership, naming the review.
    const { rows } = await h.db.pool.query(`SELECT principal, object, relation, allowed FROM access_log WHERE action = 'review.respond' AND target = $1`, [escalated]);
    expect(rows).toEqual([{ principal: 'user:lead', object: 'group:review-leads', relation: 'member', allowed: true }]);
    await page.context().close();
  });
});
