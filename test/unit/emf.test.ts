// The AWS autoscale signal (infra/bridge/emf.ts): each report is one valid CloudWatch
// Embedded Metric Format line carrying the lag; a failed read reports nothing rather
// than a lag of 0 (which would scale the bridges in).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EMF_METRIC, emfLine, reportLag } from '../../infra/bridge/emf.ts';
import { logger } from '../../shared/log.ts';

afterEach(() => vi.useRealTimers());

describe('EMF lag reports', () => {
  it('one line per interval, each a complete EMF record with the lag under the stage', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const lines: string[] = [];
    let pending = 12;
    const stop = reportLag({ intervalMs: 15_000, stage: 'prod', read: async () => pending, write: (l) => lines.push(l), log: logger('test') });
    await vi.advanceTimersByTimeAsync(15_000);
    pending = 0;
    await vi.advanceTimersByTimeAsync(15_000);
    stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!) as Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } };
    expect(first._aws.Timestamp).toBe(1_700_000_015_000);
    const decl = first._aws.CloudWatchMetrics[0]!;
    // EMF: every dimension and metric the declaration names is a top-level member of the record.
    for (const d of decl.Dimensions.flat()) expect(first[d]).toBe('prod');
    for (const m of decl.Metrics) expect(typeof first[m.Name]).toBe('number');
    expect(first[EMF_METRIC]).toBe(12);
    expect((JSON.parse(lines[1]!) as Record<string, unknown>)[EMF_METRIC]).toBe(0);
    expect(lines[0]).toBe(emfLine({ stage: 'prod', pending: 12, at: 1_700_000_015_000 }));
  });

  it('a failed read reports nothing (missing data), and the next one reports again', async () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const warn = vi.fn();
    let fail = true;
    const stop = reportLag({
      intervalMs: 1_000,
      stage: 's',
      read: async () => {
        if (fail) throw new Error('NATS away');
        return 3;
      },
      write: (l) => lines.push(l),
      log: { ...logger('test'), warn } as unknown as ReturnType<typeof logger>,
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lines).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(1);
    fail = false;
    await vi.advanceTimersByTimeAsync(1_000);
    stop();
    expect(lines.map((l) => (JSON.parse(l) as Record<string, unknown>)[EMF_METRIC])).toEqual([3]);
  });
});
