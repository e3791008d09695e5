// The KEDA ScaledObject scales the bridge on the lag of every step's consumer, by the
// names the bridge gives them, on the stream the configuration defaults to.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SWARM_STEPS } from '../../functions/registry.ts';
import { consumerName } from '../../shared/adapters/bus.ts';
import { envSchema } from '../../shared/config.ts';

type Trigger = { type: string; metadata: Record<string, string> };

describe('infra/k8s/bridge-scaledobject.yaml', () => {
  it('has one nats-jetstream trigger per step consumer', () => {
    const so = parse(readFileSync('infra/k8s/bridge-scaledobject.yaml', 'utf8')) as { kind: string; spec: { minReplicaCount: number; triggers: Trigger[] } };
    expect(so.kind).toBe('ScaledObject');
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    const stream = envSchema.parse({}).NATS_STREAM;
    expect(so.spec.triggers.every((t) => t.type === 'nats-jetstream' && t.metadata.stream === stream && Number(t.metadata.lagThreshold) > 0)).toBe(true);
    expect(so.spec.triggers.map((t) => t.metadata.consumer).sort()).toEqual(SWARM_STEPS.map((s) => consumerName(s.name)).sort());
  });
});
