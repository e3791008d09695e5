// The pure parts of the facts index (migration 009): the version hash chain drift's
// activation compares, and which row of each document a snapshot takes.
import { describe, expect, it } from 'vitest';
import { nextFactsVersion, snapshotRows, type FactsIndexRow } from '../../../shared/domain/facts-doc.ts';

const h = (c: string) => c.repeat(64);
const row = (docId: string, hash: string, seq: number): FactsIndexRow => ({ docId, key: `k/${docId}.${hash}.json`, hash, seq });

describe('nextFactsVersion', () => {
  it('the same documents with the same facts in the same order give the same version; anything else another', () => {
    const chain = (xs: [string, string][]) => xs.reduce<string | null>((v, [d, x]) => nextFactsVersion(v, d, x), null);
    const a = chain([['d1', h('a')], ['d2', h('b')]]);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(chain([['d1', h('a')], ['d2', h('b')]])).toBe(a);
    expect(chain([['d2', h('b')], ['d1', h('a')]])).not.toBe(a);
    expect(chain([['d1', h('a')], ['d2', h('c')]])).not.toBe(a);
    // The separator keeps (doc id, hash) pairs apart: "d1"+"2..." is not "d12"+"...".
    expect(nextFactsVersion(null, 'd1', '2x')).not.toBe(nextFactsVersion(null, 'd12', 'x'));
  });
});

describe('snapshotRows', () => {
  const rows = [row('b', h('1'), 2), row('a', h('2'), 5), row('b', h('3'), 7), row('c', h('4'), 9)];

  it('per document its latest row at or before the seq, in the order documents first arrived', () => {
    expect(snapshotRows(rows, 9).map((r) => [r.docId, r.hash])).toEqual([['b', h('3')], ['a', h('2')], ['c', h('4')]]);
    expect(snapshotRows(rows, 6).map((r) => [r.docId, r.hash])).toEqual([['b', h('1')], ['a', h('2')]]);
    expect(snapshotRows(rows, 1)).toEqual([]);
  });

  it('does not depend on the order the rows come in', () => {
    expect(snapshotRows([...rows].reverse(), 9)).toEqual(snapshotRows(rows, 9));
  });
});
