// CPU time of processes from /proc, for attributing a bench run's work to the bridge,
// the facts-worker, Postgres and the other local services (Linux only; elsewhere the
// figures are NaN). Clock ticks are taken as 1/100 s (USER_HZ on Linux).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const HZ = 100;

interface Stat {
  ppid: number;
  /** utime + stime of the process (all its threads), seconds. */
  own: number;
  /** cutime + cstime: its children that exited and were waited for, seconds. */
  children: number;
}

function stat(path: string): Stat | undefined {
  try {
    const s = readFileSync(path, 'utf8');
    // Fields after "(comm)": state is field 3, so field n is f[n - 3].
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), own: (Number(f[11]) + Number(f[12])) / HZ, children: (Number(f[13]) + Number(f[14])) / HZ };
  } catch {
    return undefined;
  }
}

/** utime + stime of one process so far (its children not included), seconds; NaN when it is gone. */
export function processCpu(pid: number): number {
  return stat(`/proc/${pid}/stat`)?.own ?? Number.NaN;
}

/** utime + stime of one thread of a process (tid = pid: the main thread), seconds. */
export function threadCpu(pid: number, tid: number): number {
  return stat(`/proc/${pid}/task/${tid}/stat`)?.own ?? Number.NaN;
}

/**
 * CPU seconds of a process and all its descendants so far: every live member's own time
 * plus the time of its children that have exited (cutime/cstime). A Postgres backend that
 * ends during a run is thus still counted, in the postmaster's cutime.
 */
export function treeCpu(root: number): number {
  const all = new Map<number, Stat>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = stat(`/proc/${d}/stat`);
    if (s) all.set(Number(d), s);
  }
  if (!all.has(root)) return Number.NaN;
  const kids = new Map<number, number[]>();
  for (const [pid, s] of all) kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), pid]);
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const s = all.get(pid)!;
    total += s.own + s.children;
    stack.push(...(kids.get(pid) ?? []));
  }
  return total;
}

/** Busy and total CPU seconds of the whole machine (all cores) so far, from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy: busy / HZ, total: (busy + idle + iowait) / HZ };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

/** Where infra/services/services.sh keeps its pid files and data (same rule as the script). */
export function servicesHome(): string {
  if (process.env.GSWARM_HOME) return process.env.GSWARM_HOME;
  return process.getuid?.() === 0 ? '/var/lib/governed-swarm' : join(homedir(), '.local/share/governed-swarm');
}

function pidFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').split('\n')[0]!.trim());
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A process group whose CPU is attributed: a name for the rows, and a reading of its CPU seconds so far. */
export interface CpuProbe {
  name: string;
  cpu(): number;
}

/**
 * The local services started by services.sh, each with its process tree: facts_worker,
 * postgres (the shared server's postmaster and every backend: all databases, so other
 * sessions' work and OpenFGA's queries are in it), openfga, nats, minio, wsproxy.
 * A service whose pid cannot be found is left out.
 */
export function serviceProbes(): CpuProbe[] {
  const home = servicesHome();
  const run = join(home, 'run');
  const pids: [string, number | undefined][] = [
    ['facts_worker', pidFile(join(run, 'facts-worker.pid'))],
    // The postmaster's pid file is readable by its owner (root runs the bench here).
    ['postgres', pidFile(join(home, 'data/pg/postmaster.pid'))],
    ['openfga', pidFile(join(run, 'openfga.pid'))],
    ['nats', pidFile(join(run, 'nats.pid'))],
    ['minio', pidFile(join(run, 'minio.pid'))],
    ['wsproxy', pidFile(join(run, 'wsproxy.pid'))],
  ];
  return pids.filter((p): p is [string, number] => p[1] !== undefined).map(([name, pid]) => ({ name, cpu: () => treeCpu(pid) }));
}

/** CPU seconds of each probe and of the machine, to subtract a later reading from. */
export interface CpuReading {
  at: number;
  probes: Map<string, number>;
  machine: { busy: number; total: number };
}

export function readCpu(probes: readonly CpuProbe[]): CpuReading {
  return { at: performance.now(), probes: new Map(probes.map((p) => [p.name, p.cpu()])), machine: machineCpu() };
}

export interface CpuUsage {
  wallSeconds: number;
  /** CPU seconds per probe over the window. */
  seconds: Map<string, number>;
  /** All busy CPU of the machine (all cores) over the window, seconds. */
  machineBusy: number;
  cores: number;
}

export function cpuBetween(a: CpuReading, b: CpuReading): CpuUsage {
  const seconds = new Map<string, number>();
  for (const [k, v] of b.probes) seconds.set(k, v - (a.probes.get(k) ?? Number.NaN));
  const wallSeconds = (b.at - a.at) / 1000;
  const total = b.machine.total - a.machine.total;
  return { wallSeconds, seconds, machineBusy: b.machine.busy - a.machine.busy, cores: wallSeconds > 0 ? total / wallSeconds : Number.NaN };
}
