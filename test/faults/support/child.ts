// The bridge as a real child process (`node --import tsx infra/bridge/main.ts`),
// so that SIGKILL and SIGTERM reach a real process.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Env } from '../../../shared/config.ts';
import { toProcessEnv, waitFor } from './env.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ChildBridge {
  proc: ChildProcess;
  /** JSON log lines seen so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  healthPort(): Promise<number>;
}

/** `execArgv`: extra node flags before the script (the profile bench passes --cpu-prof). */
export async function spawnBridge(env: Env, functions: string[], extra: Record<string, string> = {}, execArgv: string[] = []): Promise<ChildBridge> {
  const proc = spawn(process.execPath, [...execArgv, '--import', 'tsx', 'infra/bridge/main.ts'], {
    cwd: ROOT,
    env: toProcessEnv(env, { LOG_LEVEL: 'info', BRIDGE_FUNCTIONS: functions.join(','), ...extra }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let exit: { code: number | null } | undefined;
  void exited.then((e) => (exit = e));
  await waitFor(
    'the bridge to start',
    () => {
      if (exit) throw new Error(`bridge exited with ${exit.code} before it was running: ${stderr.slice(-2000)}`);
      return logs.some((l) => l.msg === 'bridge running');
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  return {
    proc,
    logs,
    exited,
    healthPort: () =>
      waitFor('the health port', () => logs.find((l) => l.msg === 'health endpoints listening')?.port as number | undefined),
  };
}
