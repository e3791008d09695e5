import { describe, expect, it } from 'vitest';
import { breakdown, categorize, gate, type CpuProfile } from './cpuprofile.ts';

const NM = 'file:///work/main/node_modules';

describe('categorize', () => {
  it('sorts leaf frames into the categories of the §7 gate', () => {
    expect(categorize('(garbage collector)', '')).toBe('gc');
    expect(categorize('(idle)', '')).toBe('idle');
    expect(categorize('(program)', '')).toBe('program');
    expect(categorize('parse', `${NM}/@nats-io/nats-core/lib/parser.js`)).toBe('nats-decode');
    expect(categorize('parseInfo', `${NM}/@nats-io/jetstream/lib/jsmsg.js`)).toBe('nats-decode');
    expect(categorize('parseOptions', `${NM}/@nats-io/jetstream/lib/consumer.js`)).toBe('nats-other');
    expect(categorize('decodeEnvelope', 'file:///work/wt-x/shared/contract/envelope.ts')).toBe('envelope-decode');
    expect(categorize('parse', '')).toBe('json');
    expect(categorize('_parse', `${NM}/zod/v3/types.js`)).toBe('zod');
    expect(categorize('query', `${NM}/@neondatabase/serverless/index.mjs`)).toBe('pg-driver');
    expect(categorize('parse', `${NM}/pg-protocol/dist/parser.js`)).toBe('pg-driver');
    expect(categorize('readDoc', `${NM}/wink-nlp/src/wink-nlp.js`)).toBe('extraction');
    expect(categorize('extractFacts', 'file:///work/wt-x/shared/extract/facts.ts')).toBe('extraction');
    expect(categorize('run', 'file:///work/wt-x/infra/bridge/pull.ts')).toBe('own');
    expect(categorize('get', `${NM}/hono/dist/index.js`)).toBe('other-node_modules');
    expect(categorize('emit', 'node:events')).toBe('node-internal');
    expect(categorize('Promise', '')).toBe('v8-native');
  });
});

describe('breakdown', () => {
  // root → gc, idle, nats parser, own; each sample lasts until the next one.
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '' }, children: [2, 3, 4, 5] },
      { id: 2, callFrame: { functionName: '(garbage collector)', url: '' } },
      { id: 3, callFrame: { functionName: '(idle)', url: '' } },
      { id: 4, callFrame: { functionName: 'parse', url: `${NM}/@nats-io/nats-core/lib/parser.js` } },
      { id: 5, callFrame: { functionName: 'run', url: 'file:///work/wt-x/infra/bridge/pull.ts' } },
    ],
    startTime: 1_000,
    endTime: 1_000 + 6_000,
    // times 1000+1000, +2000, +3000, +4000, +5000, +6000
    samples: [5, 2, 4, 3, 5, 5],
    timeDeltas: [1_000, 1_000, 1_000, 1_000, 1_000, 1_000],
  };

  it('charges each sample its duration to the leaf category, idle out of the busy total', () => {
    const b = breakdown(profile);
    expect(b.samples).toBe(6);
    expect(b.totalMs).toBe(6);
    expect(b.busyMs).toBe(5);
    expect(b.byCategory.own).toBe(3);
    expect(b.byCategory.gc).toBe(1);
    expect(b.byCategory['nats-decode']).toBe(1);
    expect(b.byCategory.idle).toBe(1);
    expect(b.top.own[0]![0]).toBe('run infra/bridge/pull.ts');
  });

  it('counts only the samples inside the window', () => {
    const b = breakdown(profile, [3_000, 4_000]); // the gc and the parser samples
    expect(b.samples).toBe(2);
    expect(b.byCategory.gc).toBe(1);
    expect(b.byCategory['nats-decode']).toBe(1);
    expect(b.byCategory.own).toBe(0);
  });

  it('crosses the gate above 10 % of non-idle time in GC or deserialization', () => {
    expect(gate(breakdown(profile)).gcPct).toBe(20);
    expect(gate(breakdown(profile)).crossed).toBe(true);
    const quiet = { ...profile, samples: [5, 5, 5, 5, 5, 5] };
    expect(gate(breakdown(quiet))).toMatchObject({ gcPct: 0, decodePct: 0, crossed: false });
  });
});
