// Private NATS and Postgres servers for the restart tests: own ports, own data
// directories under the OS temp dir, torn down afterwards. The shared services
// are never stopped or restarted.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readServicesEnv } from '../../../shared/config.ts';
import { startWsProxy } from '../../../infra/wsproxy/wsproxy.ts';
import { waitFor } from './env.ts';

const run = promisify(execFile);
const services = readServicesEnv();
const bin = (name: string) => process.env[name] ?? services[name];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true)); // in use: something listens
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });

// ------------------------------------------------------------------ NATS

export class PrivateNats {
  #proc: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extraConf: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** extraConf: more of nats-server's configuration (e.g. an authorization block). */
  static async start(opts: { extraConf?: string } = {}): Promise<PrivateNats> {
    const server = bin('NATS_SERVER_BIN');
    if (!server) throw new Error('NATS_SERVER_BIN is not set (npm run services:up writes it to services.env)');
    const n = new PrivateNats(await freePort(), mkdtempSync(join(tmpdir(), 'gswarm-nats-')), opts.extraConf ?? '');
    await n.up();
    return n;
  }

  async up(): Promise<void> {
    const conf = join(this.dir, 'nats.conf');
    writeFileSync(conf, `listen: 127.0.0.1:${this.port}\nmax_payload: 8MB\njetstream { store_dir: "${this.dir}/js" }\n${this.extraConf}`);
    this.#proc = spawn(bin('NATS_SERVER_BIN')!, ['-c', conf], { stdio: 'ignore' });
    await waitFor(`private nats on ${this.port}`, () => portOpen(this.port), { timeoutMs: 15_000 });
  }

  /** Stop the server (SIGTERM, or SIGKILL) and wait until it is gone. */
  async down(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.#proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await gone;
  }

  async stop(): Promise<void> {
    await this.down('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Three nats-server processes forming one JetStream cluster (routes between them,
 * each with its own client, route and monitoring port and its own store), so that
 * a replicated stream survives one of them being killed.
 */
export class PrivateNatsCluster {
  readonly #procs: (ChildProcess | undefined)[] = [];
  private constructor(
    readonly nodes: readonly { name: string; port: number; routePort: number; httpPort: number }[],
    readonly dir: string,
  ) {}

  /** Every node, as NATS_URL takes them. */
  get url(): string {
    return this.nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(',');
  }

  /** The node index of a server_name (e.g. a stream's cluster.leader). */
  indexOf(serverName: string): number {
    const i = this.nodes.findIndex((n) => n.name === serverName);
    if (i < 0) throw new Error(`no node named ${serverName}`);
    return i;
  }

  static async start(size = 3): Promise<PrivateNatsCluster> {
    if (!bin('NATS_SERVER_BIN')) throw new Error('NATS_SERVER_BIN is not set (npm run services:up writes it to services.env)');
    const nodes = [];
    for (let i = 0; i < size; i++) nodes.push({ name: `n${i}`, port: await freePort(), routePort: await freePort(), httpPort: await freePort() });
    const c = new PrivateNatsCluster(nodes, mkdtempSync(join(tmpdir(), 'gswarm-natsc-')));
    await Promise.all(nodes.map((_, i) => c.start(i)));
    return c;
  }

  /** Start node i (again) and wait until it reports healthy: JetStream up, meta leader known, its streams current. */
  async start(i: number): Promise<void> {
    const n = this.nodes[i]!;
    const conf = join(this.dir, `${n.name}.conf`);
    const routes = this.nodes.map((o) => `nats-route://127.0.0.1:${o.routePort}`).join(', ');
    writeFileSync(
      conf,
      `server_name: ${n.name}\nlisten: 127.0.0.1:${n.port}\nhttp: 127.0.0.1:${n.httpPort}\nmax_payload: 8MB\n` +
        `jetstream { store_dir: "${this.dir}/${n.name}" }\n` +
        `cluster { name: gswarm-test, listen: 127.0.0.1:${n.routePort}, routes: [${routes}] }\n`,
    );
    const proc = spawn(bin('NATS_SERVER_BIN')!, ['-c', conf], { stdio: 'ignore' });
    this.#procs[i] = proc;
    // Should the test worker die before afterAll, no server outlives it.
    const reap = () => proc.kill('SIGKILL');
    process.once('exit', reap);
    proc.once('exit', () => process.off('exit', reap));
    await waitFor(
      `cluster node ${n.name} healthy`,
      async () => (await fetch(`http://127.0.0.1:${n.httpPort}/healthz`).catch(() => undefined))?.ok === true,
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }

  /** The node a client (by its connection name) is connected to, from each node's /connz. */
  async nodeOf(connectionName: string): Promise<number | undefined> {
    for (const [i, n] of this.nodes.entries()) {
      const res = await fetch(`http://127.0.0.1:${n.httpPort}/connz`).catch(() => undefined);
      const body = res?.ok ? ((await res.json()) as { connections?: { name?: string }[] }) : undefined;
      if (body?.connections?.some((c) => c.name === connectionName)) return i;
    }
    return undefined;
  }

  /** Stop node i (SIGKILL by default: a crash) and wait until it is gone. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.#procs[i];
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await gone;
  }

  /** Kill every node and remove the stores. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.kill(i)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ Postgres

export class PrivatePostgres {
  #proxy: Server | undefined;
  private constructor(
    readonly port: number,
    readonly proxyPort: number,
    readonly dir: string,
  ) {}

  /** Through its own WebSocket proxy, as the Neon driver needs. */
  get env() {
    return { DATABASE_URL: `postgresql://postgres@127.0.0.1:${this.port}/swarm`, PG_WS_PROXY: `127.0.0.1:${this.proxyPort}` };
  }

  static async start(): Promise<PrivatePostgres> {
    const pgBin = bin('PG_BIN');
    if (!pgBin) throw new Error('PG_BIN is not set (npm run services:up writes it to services.env)');
    const dir = mkdtempSync(join(tmpdir(), 'gswarm-pg-'));
    chownSync(dir, ...uidGid('postgres'));
    const pg = new PrivatePostgres(await freePort(), await freePort(), dir);
    await asPostgres(join(pgBin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
    writeFileSync(
      join(dir, 'data', 'postgresql.conf'),
      `listen_addresses = '127.0.0.1'\nport = ${pg.port}\nunix_socket_directories = '${dir}'\nfsync = off\nmax_connections = 100\n`,
      { flag: 'a' },
    );
    await pg.up();
    await asPostgres(join(pgBin, 'psql'), ['-h', dir, '-p', String(pg.port), '-U', 'postgres', '-d', 'postgres', '-c', 'CREATE DATABASE swarm']);
    await asPostgres(join(pgBin, 'psql'), ['-h', dir, '-p', String(pg.port), '-U', 'postgres', '-d', 'swarm', '-c', 'CREATE EXTENSION IF NOT EXISTS vector']);
    pg.#proxy = await startWsProxy({ port: pg.proxyPort, allow: [`127.0.0.1:${pg.port}`] });
    return pg;
  }

  async up(): Promise<void> {
    await asPostgres(join(bin('PG_BIN')!, 'pg_ctl'), ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start']);
  }

  /** fast: disconnect clients and shut down cleanly; immediate: crash-like. */
  async down(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await asPostgres(join(bin('PG_BIN')!, 'pg_ctl'), ['-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.#proxy ? this.#proxy.close(() => r()) : r()));
    await this.down('immediate').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function uidGid(user: string): [number, number] {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no ${user} user`);
  const [, , uid, gid] = line.split(':');
  return [Number(uid), Number(gid)];
}

async function asPostgres(cmd: string, args: string[]): Promise<void> {
  const isRoot = process.getuid?.() === 0;
  await run(isRoot ? 'runuser' : cmd, isRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, { timeout: 90_000 });
}
