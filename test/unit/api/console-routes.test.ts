// The console's shell and assets as the API serves them: a public shell under a
// self-only CSP, content-hashed assets cached for a year and revalidated by ETag.
import { Hono } from 'hono';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CONSOLE_CSP, uiRoutes } from '../../../functions/api/ui/routes.ts';

const app = new Hono();
uiRoutes(app);

describe('console routes', () => {
  it('GET / goes to the console; the shell carries the CSP and names hashed assets that exist', async () => {
    const root = await app.request('/');
    expect([root.status, root.headers.get('location')]).toEqual([302, '/ui/']);
    const shell = await app.request('/ui/');
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(shell.headers.get('cache-control')).toBe('no-cache');
    const html = await shell.text();
    // No inline script: the CSP would refuse it.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const names = [...html.matchAll(/\/ui\/assets\/([^"]+)/g)].map((m) => m[1]!);
    expect(names.map((n) => n.replace(/\.[0-9a-f]{12}\./, '.*.')).sort()).toEqual(['console.*.css', 'console.*.js', 'uplot.*.css', 'uplot.*.js']);
    for (const n of names) {
      const a = await app.request(`/ui/assets/${n}`);
      expect(a.status).toBe(200);
      expect(a.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(a.headers.get('content-type')).toMatch(n.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      const plain = Buffer.from(await a.arrayBuffer());
      // Compressed when the browser says it can decode it; the same bytes once decoded.
      const br = await app.request(`/ui/assets/${n}`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
      expect(br.headers.get('content-encoding')).toBe('br');
      const packed = Buffer.from(await br.arrayBuffer());
      expect(packed.length).toBeLessThan(plain.length);
      expect(brotliDecompressSync(packed).equals(plain)).toBe(true);
      const gz = await app.request(`/ui/assets/${n}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(gunzipSync(Buffer.from(await gz.arrayBuffer())).equals(plain)).toBe(true);
      const again = await app.request(`/ui/assets/${n}`, { headers: { 'if-none-match': a.headers.get('etag')! } });
      expect(again.status).toBe(304);
    }
    const etag = shell.headers.get('etag')!;
    expect((await app.request('/ui/', { headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  it('an unknown or stale asset name is 404, not another file', async () => {
    for (const n of ['console.000000000000.js', '..%2F..%2Fpackage.json', 'console.js']) {
      expect((await app.request(`/ui/assets/${n}`)).status).toBe(404);
    }
  });
});
