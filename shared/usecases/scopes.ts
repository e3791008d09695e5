// Opening a scope: its rows (shared/store/scopes.ts), then its link to the swarm in
// OpenFGA (scope:<id>#swarm@swarm:main), which is what gives the standing agents their
// roles on it.
import { scopeSwarmTuple, type AuthzAdmin } from '../adapters/authz.ts';
import type { Db } from '../store/db.ts';
import { createScope, EnsureScopeInput } from '../store/scopes.ts';

export { EnsureScopeInput } from '../store/scopes.ts';

/**
 * Create the scope (and its state row) unless it exists, then link it to the swarm in
 * OpenFGA. Idempotent: call it again after a failed link. Without the link every proposal
 * on the scope is denied (fail closed), never allowed.
 */
export async function ensureScope(db: Db, authzAdmin: AuthzAdmin | null, input: EnsureScopeInput): Promise<{ created: boolean }> {
  const s = EnsureScopeInput.parse(input);
  const { created } = await createScope(db, s);
  if (authzAdmin) await authzAdmin.write([scopeSwarmTuple(s.scope)]);
  return { created };
}
