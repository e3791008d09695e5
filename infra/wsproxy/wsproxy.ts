// WebSocket-to-TCP proxy so that @neondatabase/serverless reaches a plain Postgres,
// as Neon's own proxy does in the cloud. Each WebSocket carries one Postgres
// connection; frames are copied both ways unchanged. Only allow-listed targets are
// dialled: an open proxy would let anyone reach any host from here. An upgrade that
// carries an Origin header is refused unless that origin is allow-listed: browsers
// always send one (so any web page could otherwise reach the database through a
// developer's machine), the Neon driver in Node never does.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface WsProxyOptions {
  port: number;
  host?: string;
  /** host:port pairs that may be dialled, e.g. ["127.0.0.1:5433"]. */
  allow: string[];
  /** Origins (scheme://host[:port]) a browser may connect from; default none. */
  allowOrigins?: string[];
  log?: (msg: string) => void;
}

export function startWsProxy(opts: WsProxyOptions): Promise<Server> {
  const allow = new Set(opts.allow);
  const log = opts.log ?? (() => {});
  const server = createServer((_req, res) => {
    // Plain HTTP GET answers health checks.
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  });
  const origins = new Set(opts.allowOrigins ?? []);
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: false,
    // Refused before the upgrade: the browser gets HTTP 403 and no socket.
    verifyClient: ({ req }, done) => {
      const origin = req.headers.origin;
      if (origin === undefined || origins.has(origin)) return done(true);
      log(`refused origin ${JSON.stringify(origin)}`);
      done(false, 403, 'origin not allowed');
    },
  });

  wss.on('connection', (sock: WebSocket, req) => {
    const address = new URL(req.url ?? '/', 'http://x').searchParams.get('address') ?? '';
    if (!allow.has(address)) {
      log(`refused target ${JSON.stringify(address)}`);
      sock.close(1008, 'target not allowed');
      return;
    }
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    const tcp = connect({ host, port, noDelay: true });
    const pending: Buffer[] = [];
    let open = false;
    tcp.on('connect', () => {
      open = true;
      for (const b of pending) tcp.write(b);
      pending.length = 0;
    });
    sock.on('message', (data: Buffer, isBinary) => {
      const buf = isBinary ? data : Buffer.from(data);
      if (open) tcp.write(buf);
      else pending.push(buf);
    });
    tcp.on('data', (chunk) => {
      if (sock.readyState === sock.OPEN) sock.send(chunk, { binary: true });
    });
    const closeBoth = () => {
      tcp.destroy();
      if (sock.readyState === sock.OPEN || sock.readyState === sock.CONNECTING) sock.close();
    };
    tcp.on('error', (e) => {
      log(`tcp ${address}: ${e.message}`);
      closeBoth();
    });
    tcp.on('close', closeBoth);
    sock.on('close', () => tcp.destroy());
    sock.on('error', () => tcp.destroy());
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve(server));
  });
}
