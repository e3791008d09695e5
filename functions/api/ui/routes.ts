// The operator console: one HTML shell and a few static assets, served by the API's own
// Hono app (no second server, nothing built at request time).
//
// The pages hold no data: a navigation cannot carry the bearer token (there is no
// cookie, by design: no CSRF surface), so the shell is public and the script fetches
// everything from /v1 with `Authorization: Bearer <token>` from the tab's session
// storage. What a principal sees is what /v1 lets it read.
//
// Assets are addressed by content hash (/ui/assets/console.3f2a9c4e.js) and cached for
// a year; the shell is revalidated, so a deploy is picked up on the next load.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { Context, Hono } from 'hono';

interface Asset {
  /** Path under /ui/assets/, with the content hash in the name. */
  name: string;
  type: string;
  body: Buffer;
  /** Compressed on first request, once per process: not at start-up (a Lambda cold start). */
  encoded(encoding: 'br' | 'gzip'): Buffer;
  etag: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

function asset(path: string, logical: string): Asset {
  const body = readFileSync(path);
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const dot = logical.lastIndexOf('.');
  const ext = logical.slice(dot + 1);
  const cache: Partial<Record<'br' | 'gzip', Buffer>> = {};
  return {
    name: `${logical.slice(0, dot)}.${hash}.${ext}`,
    type: TYPES[ext] ?? 'application/octet-stream',
    body,
    encoded: (e) => (cache[e] ??= e === 'br' ? brotliCompressSync(body) : gzipSync(body, { level: 9 })),
    etag: `"${hash}"`,
  };
}

/** The first of these files that exists (a checkout, or a Lambda bundle's copied files). */
function firstFile(candidates: readonly (() => string)[]): string {
  for (const c of candidates) {
    try {
      const p = c();
      if (existsSync(p)) return p;
    } catch {
      // require.resolve of a package that is not installed: next candidate
    }
  }
  throw new Error('not found');
}

/**
 * Read once per process: a few tens of KB. From this module's folder in a checkout; on
 * Lambda from the files sst.config.ts copies next to the handler (cwd).
 */
let loaded: Record<'js' | 'css' | 'chartJs' | 'chartCss', Asset> | undefined;
export function loadAssets(): Record<'js' | 'css' | 'chartJs' | 'chartCss', Asset> {
  // Once per process: every createApi (tests build many) shares them.
  return (loaded ??= readAssets());
}

function readAssets(): Record<'js' | 'css' | 'chartJs' | 'chartCss', Asset> {
  const own = (f: string) => [() => join(here, 'assets', f), () => join(process.cwd(), 'functions/api/ui/assets', f)];
  const vendor = (f: string) => [() => require.resolve(`uplot/dist/${f}`), () => join(process.cwd(), 'functions/api/ui/vendor', f)];
  return {
    js: asset(firstFile(own('console.js')), 'console.js'),
    css: asset(firstFile(own('console.css')), 'console.css'),
    chartJs: asset(firstFile(vendor('uPlot.iife.min.js')), 'uplot.js'),
    chartCss: asset(firstFile(vendor('uPlot.min.css')), 'uplot.css'),
  };
}

/**
 * Scripts and styles from this origin only, no inline script, API calls to this origin
 * only: a document's text shown in the page cannot run or load anything.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function shell(a: ReturnType<typeof loadAssets>): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Governed Swarm console</title>
<link rel="stylesheet" href="/ui/assets/${a.chartCss.name}">
<link rel="stylesheet" href="/ui/assets/${a.css.name}">
<script defer src="/ui/assets/${a.chartJs.name}"></script>
<script type="module" src="/ui/assets/${a.js.name}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top" id="top"></header>
<main id="main" tabindex="-1"><p class="muted">Loading the console…</p></main>
<div id="toast" role="status" aria-live="polite"></div>
<noscript><p>The console needs JavaScript. The API itself is documented at <a href="/openapi.json">/openapi.json</a>.</p></noscript>
</body>
</html>`;
}

// Any app: the API mounts it on its OpenAPIHono, tests on a plain Hono.
export function uiRoutes(app: Hono<any>, onMissing: (err: unknown) => void = () => {}): void {
  let assets: ReturnType<typeof loadAssets>;
  try {
    assets = loadAssets();
  } catch (err) {
    // The API works without its console; say so where the console would be.
    onMissing(err);
    const missing = (c: Context) => c.text('The console is not deployed with this API (its assets were not found). The API itself is at /v1; see /openapi.json.', 503);
    app.get('/', missing);
    app.get('/ui', missing);
    app.get('/ui/', missing);
    return;
  }
  const byName = new Map(Object.values(assets).map((x) => [x.name, x]));
  const page = shell(assets);
  const pageEtag = `"${createHash('sha256').update(page).digest('hex').slice(0, 12)}"`;

  app.get('/', (c) => c.redirect('/ui/', 302));
  const serveShell = (c: Context) => {
    c.header('Content-Security-Policy', CONSOLE_CSP);
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', pageEtag);
    if (c.req.header('if-none-match') === pageEtag) return c.body(null, 304);
    return c.html(page);
  };
  app.get('/ui', (c) => c.redirect('/ui/', 301));
  app.get('/ui/', serveShell);
  app.get('/ui/assets/:name', (c) => {
    const a = byName.get(c.req.param('name'));
    if (!a) return c.json({ error: { code: 'not_found', message: `no asset ${c.req.param('name')}`, request_id: c.get('requestId') } }, 404);
    c.header('Cache-Control', 'public, max-age=31536000, immutable');
    c.header('ETag', a.etag);
    if (c.req.header('if-none-match') === a.etag) return c.body(null, 304);
    c.header('Content-Type', a.type);
    c.header('Vary', 'Accept-Encoding');
    const accept = c.req.header('accept-encoding') ?? '';
    const encoding = /\bbr\b/.test(accept) ? 'br' : /\bgzip\b/.test(accept) ? 'gzip' : null;
    if (encoding) c.header('Content-Encoding', encoding);
    return c.body(new Uint8Array(encoding ? a.encoded(encoding) : a.body));
  });
}
