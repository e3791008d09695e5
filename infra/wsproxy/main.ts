// Entry point used by infra/services/services.sh: WSPROXY_PORT, WSPROXY_HOST (default
// 127.0.0.1), WSPROXY_ALLOW (targets), WSPROXY_ALLOW_ORIGINS (browser origins; default none).
import { startWsProxy } from './wsproxy.ts';

const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const port = Number(process.env.WSPROXY_PORT ?? 5480);
const host = process.env.WSPROXY_HOST || '127.0.0.1';
const allow = list(process.env.WSPROXY_ALLOW ?? '127.0.0.1:5433');
const allowOrigins = list(process.env.WSPROXY_ALLOW_ORIGINS);
const server = await startWsProxy({ port, host, allow, allowOrigins, log: (m) => process.stderr.write(`wsproxy: ${m}\n`) });
process.stderr.write(`wsproxy: listening on ${host}:${port}, targets ${allow.join(',')}${allowOrigins.length ? `, browser origins ${allowOrigins.join(',')}` : ''}\n`);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
