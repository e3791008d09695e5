// The autoscale signal for AWS: the consumers' pending count (the lag) printed as a
// CloudWatch Embedded Metric Format line, which the ECS log driver turns into a
// metric with no agent and no API call. Every bridge reports the same shared
// consumers, so the scaling policy (sst.config.ts) takes the Maximum for the lag and
// the SampleCount, divided by the reports per minute, for the number of bridges.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../../shared/log.ts';
import { consumerLag } from './lag.ts';

export const EMF_NAMESPACE = 'GovernedSwarm';
export const EMF_METRIC = 'ConsumerPending';
export const EMF_DIMENSION = 'Stage';

/** One EMF record (a JSON line): the metric's value under the stage's dimension. */
export function emfLine(o: { stage: string; pending: number; at: number }): string {
  return JSON.stringify({
    _aws: {
      Timestamp: o.at,
      CloudWatchMetrics: [{ Namespace: EMF_NAMESPACE, Dimensions: [[EMF_DIMENSION]], Metrics: [{ Name: EMF_METRIC, Unit: 'Count' }] }],
    },
    [EMF_DIMENSION]: o.stage,
    [EMF_METRIC]: o.pending,
  });
}

/** Messages waiting for these consumers, all together (the lag a new bridge would help with). */
export async function consumersPending(jsm: JetStreamManager, stream: string, consumers: readonly string[]): Promise<number> {
  return (await consumerLag(jsm, stream, consumers)).reduce((sum, c) => sum + c.pending, 0);
}

/** Print the lag every intervalMs; a failed read skips that report (missing data, not a false 0). */
export function reportLag(o: { intervalMs: number; stage: string; read: () => Promise<number>; write?: (line: string) => void; log: Logger }): () => void {
  const write = o.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const timer = setInterval(() => {
    o.read()
      .then((pending) => write(emfLine({ stage: o.stage, pending, at: Date.now() })))
      .catch((err: unknown) => o.log.warn({ err }, 'lag report skipped: could not read the consumers'));
  }, o.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
