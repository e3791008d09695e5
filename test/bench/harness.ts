// Shared pieces for `npm run bench`. Every suite returns rows
// {case, metric, value, unit}; run.ts prints them as a table and, with
// --json FILE, writes them as a JSON array. Report ratios against a baseline
// measured in the same run: these machines are noisy.
export interface BenchRow {
  case: string;
  metric: string;
  value: number;
  unit: string;
}

export interface BenchSuite {
  name: string;
  /** One line on what is measured and against which baseline. */
  description: string;
  run(): Promise<BenchRow[]>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** p50/p99 of a list of samples (milliseconds unless stated). */
export function latencyRows(caseName: string, samples: number[], unit = 'ms'): BenchRow[] {
  const s = [...samples].sort((a, b) => a - b);
  return [
    { case: caseName, metric: 'p50', value: percentile(s, 50), unit },
    { case: caseName, metric: 'p99', value: percentile(s, 99), unit },
  ];
}

/** Time fn over n calls after a warm-up, returning per-call samples in ms. */
export async function timeCalls(n: number, fn: (i: number) => unknown | Promise<unknown>, warmup = Math.min(100, n)): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out[i] = performance.now() - t0;
  }
  return out;
}
