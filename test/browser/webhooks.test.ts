// The console's Notifications panel (issue 13, item 4) in a real headless Chromium,
// against the API over HTTP on real services: an operator adds a webhook (the
// generated secret is shown once, and nowhere after a reload), sees an SSRF refusal
// explained, deletes it; an auditor does not get the panel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiHarness } from '../integration/api-harness.ts';
import { uniq } from '../support/ids.ts';
import { axe, signIn, startConsole, type ConsoleHarness } from './support.ts';

let c: ConsoleHarness<'auditor'>;
let h: ApiHarness;
let auditor: string;
const scope = uniq('ui-hooks-');

beforeAll(async () => {
  c = await startConsole({ users: ['auditor'] });
  ({ h } = c);
  auditor = c.tokens.auditor;
  expect((await h.call('PUT', `/v1/scopes/${scope}`, { json: {} })).status).toBe(201);
}, 60_000);
afterAll(async () => c?.close());

async function scopePage(tok: string) {
  const { page } = await signIn(c, tok);
  await page.goto(`${c.base}/#/scopes/${scope}`);
  await page.getByRole('heading', { name: `Scope ${scope}` }).waitFor({ timeout: 15_000 });
  return page;
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
