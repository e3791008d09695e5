// The CPU attribution of the e2e bench: a process tree's CPU must keep the time of
// members that have already exited (a Postgres backend that ends mid-run), and a
// process's own figure must not.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuBetween, machineCpu, processCpu, readCpu, treeCpu } from './proc.ts';

/** A child that spins for `ms` of wall time, then exits (and is waited for by this process). */
function burn(ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end);`], { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', () => resolve());
  });
}

describe.runIf(process.platform === 'linux')('proc', () => {
  it('treeCpu keeps the CPU of a child that has exited; processCpu is the process alone', async () => {
    const tree0 = treeCpu(process.pid);
    const own0 = processCpu(process.pid);
    const machine0 = machineCpu();
    await burn(400);
    const tree = treeCpu(process.pid) - tree0;
    const own = processCpu(process.pid) - own0;
    // The child spun ~0.4 s (less when the machine is busy, never nothing).
    expect(tree - own).toBeGreaterThan(0.1);
    expect(own).toBeLessThan(tree);
    expect(machineCpu().busy - machine0.busy).toBeGreaterThanOrEqual(tree - own - 0.05);
  });

  it('readCpu/cpuBetween: seconds per probe over the window and the machine', async () => {
    let n = 0;
    const a = readCpu([{ name: 'x', cpu: () => (n += 2) }]);
    await new Promise((r) => setTimeout(r, 50));
    const u = cpuBetween(a, readCpu([{ name: 'x', cpu: () => (n += 3) }]));
    expect(u.seconds.get('x')).toBe(3);
    expect(u.wallSeconds).toBeGreaterThan(0.04);
    expect(u.cores).toBeGreaterThan(0.5);
    expect(treeCpu(2 ** 22 + 12345)).toBeNaN();
  });
});
