// Entry point used by infra/services/services.sh: WSPROXY_PORT, WSPROXY_ALLOW.
import { startWsProxy } from './wsproxy.ts';

const port = Number(process.env.WSPROXY_PORT ?? 5480);
const allow = (process.env.WSPROXY_ALLOW ?? '127.0.0.1:5433').split(',').map((s) => s.trim());
const server = await startWsProxy({ port, allow, log: (m) => process.stderr.write(`wsproxy: ${m}\n`) });
process.stderr.write(`wsproxy: listening on 127.0.0.1:${port}, targets ${allow.join(',')}\n`);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
