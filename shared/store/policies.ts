// policy_versions: the text of every policy version a decision or certificate names,
// stored once per hash, so an auditor can read exactly what was in force.
import type { LoadedPolicy } from '../policy/load.ts';
import type { Queryable } from './db.ts';

export async function ensurePolicyVersion(q: Queryable, p: LoadedPolicy<unknown>): Promise<string> {
  await q.query(
    `INSERT INTO policy_versions (policy_version, kind, content) VALUES ($1, $2, $3) ON CONFLICT (policy_version) DO NOTHING`,
    [p.version, p.kind, JSON.stringify({ source: p.source, text: p.text, parsed: p.policy })],
  );
  return p.version;
}

export async function getPolicyVersion(q: Queryable, version: string): Promise<{ kind: string; text: string } | null> {
  const { rows } = await q.query<{ kind: string; content: { text: string } }>('SELECT kind, content FROM policy_versions WHERE policy_version = $1', [version]);
  return rows[0] ? { kind: rows[0].kind, text: rows[0].content.text } : null;
}
