// A webhook receiver for tests (node:http on 127.0.0.1): records every request with
// whether its signature verifies, and answers what the test scripts per path
// (default 200). It can stop listening and come back on the same port.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../../shared/notify/sign.ts';

export interface Received {
  path: string;
  event: string;
  delivery: string;
  attempt: number;
  signed: boolean;
  body: Record<string, unknown>;
  raw: string;
  /** What the receiver answered. */
  status: number;
  at: number;
}

export class WebhookReceiver {
  readonly received: Received[] = [];
  /** path → statuses to answer next, in order; then 200. */
  readonly script = new Map<string, number[]>();
  /** path → a Retry-After header to send with each non-2xx answer. */
  readonly retryAfter = new Map<string, string>();
  /** Milliseconds to wait before answering. */
  delayMs = 0;
  #server: Server | undefined;
  #port = 0;

  constructor(private readonly secrets: Record<string, string>) {}

  get port(): number {
    return this.#port;
  }
  url(path: string): string {
    return `http://127.0.0.1:${this.#port}${path}`;
  }

  async start(port = this.#port): Promise<void> {
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const header = String(req.headers['x-swarm-signature'] ?? '');
        const secret = this.secrets[path] ?? '';
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          // recorded as is
        }
        const status = this.script.get(path)?.shift() ?? 200;
        const answer = () => {
          this.received.push({
            path,
            event: String(req.headers['x-swarm-event'] ?? ''),
            delivery: String(req.headers['x-swarm-delivery'] ?? ''),
            attempt: Number(req.headers['x-swarm-attempt'] ?? 0),
            signed: verifySignature(header, raw, secret),
            body,
            raw,
            status,
            at: Date.now(),
          });
          const wait = status >= 300 ? this.retryAfter.get(path) : undefined;
          res.writeHead(status, wait !== undefined ? { 'retry-after': wait } : {}).end(status < 300 ? 'ok' : 'no');
        };
        if (this.delayMs) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }

  /** Requests answered 2xx (on `path`). */
  accepted(path?: string): Received[] {
    return this.received.filter((r) => r.status < 300 && (!path || r.path === path));
  }
}
