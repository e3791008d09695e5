// The consumers' lag, read from JetStream: what /metrics reports per consumer and what
// the EMF line (emf.ts) reports in total. Its own module, so that the SST config can
// import emf.ts's names without loading the metrics SDK.
import type { JetStreamManager } from '@nats-io/jetstream';

/** Each consumer's lag: messages not yet delivered to it, and delivered but not acknowledged. */
export async function consumerLag(jsm: JetStreamManager, stream: string, consumers: readonly string[]) {
  return Promise.all(
    consumers.map(async (consumer) => {
      const info = await jsm.consumers.info(stream, consumer);
      return { consumer, pending: info.num_pending, ackPending: info.num_ack_pending };
    }),
  );
}
