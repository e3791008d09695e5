// What every console test in Chromium needs: the API served over HTTP with one token per
// named user, optionally the whole swarm in-process on the real services, Debian's
// chromium (driven by playwright-core), signing in, and an axe-core accessibility check.
import { serve, type ServerType } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startSwarm, type SwarmRuntime } from '../../infra/swarm/runtime.ts';
import { createDeps } from '../../shared/runtime/deps.ts';
import { startApi, token, type ApiHarness } from '../integration/api-harness.ts';
import { uniq } from '../support/ids.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface ConsoleHarness<U extends string> {
  h: ApiHarness;
  /** The console's origin (http://127.0.0.1:<port>). */
  base: string;
  browser: Browser;
  /** The operator's token and one per named user (principal user:<name>). */
  tokens: Record<U | 'operator', string>;
  /** Drop every open HTTP connection (a proxy restart, a network blip). */
  dropConnections(): void;
  close(): Promise<void>;
}

/** The API over HTTP with these users besides the operator, the swarm if asked, and Chromium. */
export async function startConsole<U extends string = never>(o: { users?: readonly U[]; swarm?: boolean } = {}): Promise<ConsoleHarness<U>> {
  const h = await startApi();
  const tokens = { operator: h.tokens.operator, ...Object.fromEntries((o.users ?? []).map((u) => [u, token()])) } as Record<U | 'operator', string>;
  const apiTokens = Object.entries<string>(tokens).map(([user, t]) => `${t}=user:${user}`).join(', ');
  const server: ServerType = serve({ fetch: h.appWith(o.users?.length ? { API_TOKENS: apiTokens } : {}).fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let swarm: SwarmRuntime | undefined;
  if (o.swarm) {
    const env = { ...h.env, BRIDGE_DEPLOYMENT_ID: uniq('ui-'), BRIDGE_HEALTH_PORT: 0, BRIDGE_INBOX_CLEANUP_MS: 0 };
    swarm = await startSwarm(env, { deps: createDeps({ env, db: h.guarded }) });
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  return {
    h,
    base,
    browser,
    tokens,
    dropConnections: () => (server as unknown as { closeAllConnections(): void }).closeAllConnections(),
    async close() {
      await browser.close();
      await swarm?.stop();
      await new Promise<void>((r) => server.close(() => r()));
      await h.close();
    },
  };
}

/**
 * A new browser context signed in with this token. `settled` waits for the top bar naming the
 * principal; `either` also accepts a refusal (an alert), for tests of a bad token.
 */
export async function signIn(c: Pick<ConsoleHarness<string>, 'browser' | 'base'>, tok: string, settled: 'signed-in' | 'either' = 'signed-in'): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await c.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  await page.goto(`${c.base}/`);
  await page.getByLabel('API token').fill(tok);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Settled either way, so a navigation that follows is not overridden by the sign-in's own.
  const signedIn = page.getByText('Signed in as');
  await (settled === 'either' ? signedIn.or(page.getByRole('alert')).first() : signedIn).waitFor({ timeout: 15_000 });
  return { ctx, page };
}

/** WCAG 2 A/AA violations axe-core finds on the page, one line each. */
export async function axe(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await (window as unknown as { axe: { run(o: unknown): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe.run({
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] },
    });
    return r.violations.map((x) => `${x.id}: ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}
