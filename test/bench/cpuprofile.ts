// Self time by category from a V8 .cpuprofile (what `node --cpu-prof` writes): every
// sample is charged to its leaf node's category, optionally only the samples inside a
// time window (the profile's clock: microseconds of CLOCK_MONOTONIC, the same clock as
// process.hrtime in any process on the machine). No dependencies: the profile is JSON.

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export const CATEGORIES = [
  'gc',
  'idle',
  'program',
  'nats-decode',
  'nats-other',
  'envelope-decode',
  'json',
  'zod',
  'pg-driver',
  'extraction',
  'own',
  'node-internal',
  'other-node_modules',
  'v8-native',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const LABELS: Record<Category, string> = {
  gc: '(garbage collector)',
  idle: '(idle)',
  program: '(program): native, not attributed to JS',
  'nats-decode': 'NATS client: parse/decode',
  'nats-other': 'NATS client: other',
  'envelope-decode': 'decodeEnvelope (JSON.parse inlined)',
  json: 'JSON.parse / JSON.stringify',
  zod: 'zod',
  'pg-driver': 'pg / Neon driver',
  extraction: 'wink-nlp / shared/extract',
  own: 'our code (outside node_modules)',
  'node-internal': 'Node internals (node: urls)',
  'other-node_modules': 'other node_modules',
  'v8-native': 'other builtins (no url)',
};

// nats.js: the protocol parser (lib/parser.js), the byte buffers it fills, codecs, header
// decoding, a JetStream message's reply-subject parsing (parseInfo) and anything named
// decode; the rest (iterators, pull requests, acks, consumer options) is "other".
const NATS_DECODE_URL = /\/(parser|codec|codecs|encoders|headers|denobuffer|databuffer)\.js/;
const NATS_DECODE_FN = /decode|^parse$|^parseInfo$/i;

export function categorize(functionName: string, url: string): Category {
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)' || functionName === '(root)') return 'program';
  if (url.includes('@nats-io/') || url.includes('/nats.js/')) return NATS_DECODE_URL.test(url) || NATS_DECODE_FN.test(functionName) ? 'nats-decode' : 'nats-other';
  // Builtins (JSON.parse, TextDecoder) rarely get frames of their own: their time is the
  // caller's self time, so the bridge's envelope decoder is its own category.
  if (url.includes('/shared/contract/envelope.ts')) return 'envelope-decode';
  if ((functionName === 'parse' || functionName === 'stringify') && (url === '' || url.includes('JSON'))) return 'json';
  if (url.includes('/zod/')) return 'zod';
  if (url.includes('@neondatabase') || /\/node_modules\/pg(-[a-z]+)?\//.test(url)) return 'pg-driver';
  if (url.includes('wink-') || url.includes('/shared/extract')) return 'extraction';
  if (url.includes('node_modules')) return 'other-node_modules';
  if (url.startsWith('node:')) return 'node-internal';
  if (url.includes('/work/')) return 'own';
  return 'v8-native';
}

export interface Breakdown {
  /** Sampled time in the window, ms. */
  totalMs: number;
  /** Sampled time that is not (idle), ms: the CPU time the shares below are of. */
  busyMs: number;
  samples: number;
  byCategory: Record<Category, number>; // ms
  /** Top leaf functions per category: "name url:line" → ms. */
  top: Record<Category, [string, number][]>;
}

/**
 * Self time per category. `window` is [from, to] in the profile's clock (µs); samples
 * outside it are left out. A sample's duration is the delta to the next sample (the
 * last one gets the mean), as DevTools does.
 */
export function breakdown(p: CpuProfile, window?: [number, number], topN = 5): Breakdown {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const byCategory = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  const fnTime = new Map<string, { cat: Category; us: number }>();
  let t = p.startTime;
  let total = 0;
  let n = 0;
  const meanDelta = p.timeDeltas.length ? (p.endTime - p.startTime) / p.timeDeltas.length : 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (window && (t < window[0] || t > window[1])) continue;
    const dur = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1]! : meanDelta;
    const node = byId.get(p.samples[i]!);
    if (!node) continue;
    const { functionName, url } = node.callFrame;
    const cat = categorize(functionName, url);
    byCategory[cat] += dur;
    total += dur;
    n++;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^file:\/\/\/work\/[^/]+\//, '').replace(/^.*node_modules\//, '')}`;
    const e = fnTime.get(key) ?? { cat, us: 0 };
    e.us += dur;
    fnTime.set(key, e);
  }
  const top = Object.fromEntries(CATEGORIES.map((c) => [c, [] as [string, number][]])) as Record<Category, [string, number][]>;
  for (const [k, v] of [...fnTime].sort((a, b) => b[1].us - a[1].us)) if (top[v.cat].length < topN) top[v.cat].push([k, v.us / 1000]);
  for (const c of CATEGORIES) byCategory[c] /= 1000;
  return { totalMs: total / 1000, busyMs: (total - byCategory.idle * 1000) / 1000, samples: n, byCategory, top };
}

/** The decision gate of the reference document §7: >10 % of CPU time in GC or NATS message deserialization. */
export function gate(b: Breakdown): { gcPct: number; decodePct: number; decodeUpperPct: number; crossed: boolean } {
  const pct = (ms: number) => (b.busyMs > 0 ? (100 * ms) / b.busyMs : 0);
  const gcPct = pct(b.byCategory.gc);
  // Deserialization: nats.js parsing/decoding plus the envelope decoder (JSON.parse inside).
  const decodePct = pct(b.byCategory['nats-decode'] + b.byCategory['envelope-decode']);
  // Upper bound: every JSON.parse/stringify frame and all of zod counted as well.
  const decodeUpperPct = pct(b.byCategory['nats-decode'] + b.byCategory['envelope-decode'] + b.byCategory.json + b.byCategory.zod);
  return { gcPct, decodePct, decodeUpperPct, crossed: gcPct > 10 || decodePct > 10 };
}
