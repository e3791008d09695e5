// A private OpenFGA server (in-memory) for tests that must stop it: the shared one is
// never stopped from a test.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gswarmHome } from '../../../shared/config.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface PrivateOpenFga {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startPrivateOpenFga(): Promise<PrivateOpenFga> {
  const [http, grpc] = [await freePort(), await freePort()];
  const bin = join(gswarmHome(), 'bin', 'openfga');
  const child = spawn(
    bin,
    ['run', '--datastore-engine', 'memory', '--http-addr', `127.0.0.1:${http}`, '--grpc-addr', `127.0.0.1:${grpc}`, '--playground-enabled=false', '--metrics-enabled=false', '--log-level', 'error'],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${http}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`private openfga exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('private openfga did not become healthy');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM'); // only the process this test started, by its handle
      await exited;
    },
  };
}
