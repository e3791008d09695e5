// The operator console in Chromium (issue 12): page weight and speed of the scope page
// on a scope with BENCH_CONSOLE_ENTRIES context-log entries (1,000) and
// BENCH_CONSOLE_ROUNDS convergence rounds (200), served by the real API (fresh
// database, OpenFGA store and stream, as the API tests have them).
//
// Baseline, same run and same browser: the sign-in page (the shell and its assets, no
// data). Rows:
//   signin.cold          bytes over the wire and time to the form, empty cache (baseline)
//   scope.cold / .warm   bytes and time until the summary, chart and first timeline page
//                        are drawn; cold = empty cache, warm = assets from the cache
//                        (content-hashed, immutable), only the shell revalidated and the JSON
//   scope.*.vs_signin    that time ÷ the sign-in page's
//   scope.fcp            first contentful paint
//   timeline.all         "Load older" until every entry is on the page: total time, and the
//                        longest main-thread task meanwhile (a freeze would be one long task)
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ensureScope } from '../../../shared/usecases/scopes.ts';
import { startApi, token } from '../../integration/api-harness.ts';
import type { BenchRow, BenchSuite } from '../harness.ts';

const ENTRIES = Number(process.env.BENCH_CONSOLE_ENTRIES ?? 1_000);
const ROUNDS = Number(process.env.BENCH_CONSOLE_ROUNDS ?? 200);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Bytes received over the network (encoded: as transferred) while fn runs. */
async function transferred(ctx: BrowserContext, page: Page, fn: () => Promise<void>): Promise<number> {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => (bytes += e.encodedDataLength));
  await fn();
  await cdp.detach();
  return bytes;
}

export const suite: BenchSuite = {
  name: 'console',
  description: `operator console in Chromium: scope page with ${ENTRIES} timeline entries and ${ROUNDS} rounds; baseline: the sign-in page`,
  async run(): Promise<BenchRow[]> {
    const h = await startApi();
    const viewer = token();
    const app = h.appWith({ API_TOKENS: `${viewer}=user:auditor` });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const rows: BenchRow[] = [];
    try {
      const scope = 'console-bench';
      await h.guarded.transaction((tx) => ensureScope(tx, h.admin, { scope, mode: null }));
      // A long history: documents, decisions and state advances in the proportions a real scope has.
      const kinds = ['context_doc', 'proposal_approved', 'state_transition', 'drift_analyzed', 'actions_planned', 'status_card'];
      await h.db.pool.query(
        `INSERT INTO context_log (scope_id, seq, kind, payload, source, created_at)
         SELECT $1, g, ($2::text[])[1 + g % 6],
                jsonb_build_object('title', 'document ' || g, 'text', repeat('Revenue was reported at 41.3 million. ', 20), 'level', 'medium', 'briefing', 'Scope is open; round ' || g),
                'bench', now() - (($3 - g) || ' seconds')::interval
           FROM generate_series(1, $3) g`,
        [scope, kinds, ENTRIES],
      );
      await h.db.pool.query(`UPDATE scopes SET last_seq = $2 WHERE scope_id = $1`, [scope, ENTRIES]);
      await h.db.pool.query(
        `INSERT INTO convergence_history (scope_id, round, epoch, goal_score, lyapunov_v, dimensions, pressure, created_at)
         SELECT $1, g, g * 3, 0.3 + 0.6 * (1 - exp(-g / 40.0)), 0.6 * exp(-g / 40.0), '{}', '{}', now() - (($2 - g) || ' minutes')::interval
           FROM generate_series(1, $2) g`,
        [scope, ROUNDS],
      );

      const fresh = async () => {
        const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        await ctx.addInitScript((t) => sessionStorage.setItem('governed-swarm.token', t), viewer);
        return { ctx, page: await ctx.newPage() };
      };

      // Baseline: the sign-in page, empty cache.
      {
        const ctx = await browser.newContext();
        const page = await ctx.newPage();
        let ms = 0;
        const bytes = await transferred(ctx, page, async () => {
          await page.goto(`${base}/ui/#/signin`);
          await page.getByLabel('API token').waitFor();
          ms = await page.evaluate(() => performance.now());
        });
        rows.push({ case: 'signin.cold', metric: 'bytes', value: bytes, unit: 'B' }, { case: 'signin.cold', metric: 'time_to_form', value: ms, unit: 'ms' });
        await ctx.close();
      }
      const signinMs = rows.find((r) => r.case === 'signin.cold' && r.metric === 'time_to_form')!.value;

      const { ctx, page } = await fresh();
      const drawn = async () => {
        await page.getByRole('region', { name: 'Timeline' }).locator('li').first().waitFor({ timeout: 60_000 });
        await page.locator('.uplot canvas').first().waitFor({ timeout: 60_000 });
        return page.evaluate(() => performance.now());
      };
      for (const phase of ['cold', 'warm'] as const) {
        let ms = 0;
        const bytes = await transferred(ctx, page, async () => {
          await page.goto(`${base}/ui/#/scopes/${scope}`);
          if (phase === 'warm') await page.reload();
          ms = await drawn();
        });
        rows.push(
          { case: `scope.${phase}`, metric: 'bytes', value: bytes, unit: 'B' },
          { case: `scope.${phase}`, metric: 'time_to_drawn', value: ms, unit: 'ms' },
          { case: `scope.${phase}`, metric: 'vs_signin', value: ms / signinMs, unit: '×' },
        );
      }
      const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN);
      rows.push({ case: 'scope', metric: 'first_contentful_paint', value: fcp, unit: 'ms' });

      // Every entry on the page, a page at a time; the longest task says whether it froze.
      await page.evaluate(() => {
        const w = window as unknown as { longest: number };
        w.longest = 0;
        new PerformanceObserver((l) => l.getEntries().forEach((e) => (w.longest = Math.max(w.longest, e.duration)))).observe({ type: 'longtask', buffered: false });
      });
      const more = page.getByRole('region', { name: 'Timeline' }).getByRole('button', { name: 'Load older' });
      const t0 = Date.now();
      let clicks = 0;
      while ((await more.isVisible()) && clicks < ENTRIES) {
        const before = await page.locator('ol.timeline > li').count();
        await more.click();
        clicks++;
        await page.waitForFunction((n) => document.querySelectorAll('ol.timeline > li').length > n, before, { timeout: 30_000 });
      }
      const shown = await page.locator('ol.timeline > li').count();
      const longest = await page.evaluate(() => (window as unknown as { longest: number }).longest);
      rows.push(
        { case: 'timeline.all', metric: 'entries_shown', value: shown, unit: 'entries' },
        { case: 'timeline.all', metric: 'pages', value: clicks + 1, unit: 'requests' },
        { case: 'timeline.all', metric: 'total_time', value: Date.now() - t0, unit: 'ms' },
        { case: 'timeline.all', metric: 'longest_task', value: longest, unit: 'ms' },
      );
      await ctx.close();
    } finally {
      await browser.close();
      await new Promise<void>((r) => server.close(() => r()));
      await h.close();
    }
    return rows;
  },
};
