// Bench-only: time every query of this process by its SQL text, to see which query's
// wait grows with the scope (the growth bench). Wraps the driver's Client.prototype.query
// (pools and transactions both end there); promise and callback forms both counted.
import { Client } from '@neondatabase/serverless';

export interface QueryStat {
  calls: number;
  ms: number;
  rows: number;
}

const stats = new Map<string, QueryStat>();
let installed = false;
let on = false;

/** The statement, whitespace collapsed (call sites share a SELECT list, so the whole text is the key). */
export const queryKey = (text: string): string => text.replace(/\s+/g, ' ').trim().slice(0, 600);

/** Its first words and its WHERE clause: enough to tell the call sites apart in a report. */
export function queryLabel(key: string): string {
  const w = key.indexOf(' WHERE ');
  return w < 0 || w < 60 ? key.slice(0, 160) : `${key.slice(0, 40)} …${key.slice(w, w + 120)}`;
}

export function installQueryTiming(): void {
  if (installed) return;
  installed = true;
  const proto = Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
  const orig = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (!on) return orig.apply(this, args);
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    const key = queryKey(text);
    const t0 = performance.now();
    const done = (res?: { rowCount?: number | null; rows?: unknown[] }) => {
      const s = stats.get(key) ?? { calls: 0, ms: 0, rows: 0 };
      s.calls++;
      s.ms += performance.now() - t0;
      s.rows += res?.rows?.length ?? 0;
      stats.set(key, s);
    };
    const cbAt = args.findIndex((a) => typeof a === 'function');
    if (cbAt >= 0) {
      const cb = args[cbAt] as (err: unknown, res: unknown) => void;
      args[cbAt] = (err: unknown, res: { rows?: unknown[] }) => {
        done(res);
        cb(err, res);
      };
      return orig.apply(this, args);
    }
    const out = orig.apply(this, args) as Promise<{ rows?: unknown[] }> | unknown;
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      (out as Promise<{ rows?: unknown[] }>).then(done, () => done());
    }
    return out;
  };
}

/** Start counting afresh (between checkpoints only the sample is counted). */
export function startQueryTiming(): void {
  stats.clear();
  on = true;
}

export function stopQueryTiming(): Map<string, QueryStat> {
  on = false;
  return new Map(stats);
}
