// What the agent steps use beyond the runtime's Deps: policies, the artifact stores,
// the embeddings worker, the language model (none by default) and the certificate
// signer. Built once per Deps from its configuration and its clients (S3 is Deps.s3);
// tests provide their own.
import { createAuthzAdmin, type AuthzAdmin } from '../adapters/authz.ts';
import { createEmbeddingsClient, type EmbeddingsClient } from '../adapters/embeddings.ts';
import { modelFromConfig, type LanguageModel } from '../llm/model.ts';
import { LLM_ROLES, roleSettings, roleTimeoutVar, type LlmRole } from '../llm/roles.ts';
import { LLM_BREAKER } from '../llm/run.ts';
import { policySourceFromEnv, type PolicySource } from '../policy/load.ts';
import type { Deps } from '../runtime/deps.ts';
import { createArtifactStore, type ArtifactStore } from '../store/artifacts.ts';
import { loadSigner, type CertificateSigner } from '../adapters/signer.ts';
import { createFactsObjectStore, type FactsObjectStore } from '../store/facts-documents.ts';

export interface SwarmServices {
  policies: PolicySource;
  artifacts: ArtifactStore;
  /** One immutable object per document's facts (indexed by facts_documents). */
  factsObjects: FactsObjectStore;
  embeddings: EmbeddingsClient;
  /** Undefined: no LLM configured, every step takes its deterministic fallback. */
  model: LanguageModel | undefined;
  authzAdmin: AuthzAdmin;
  signer(): Promise<CertificateSigner>;
  /** Per-step LLM timeouts (ms). */
  llmTimeoutMs: number;
  /** Roles with a model of their own (LLM_MODEL_<ROLE>); null: none for that role. Others use `model`. */
  roleModels: Partial<Record<LlmRole, LanguageModel | null>>;
  /** Roles with a timeout of their own (LLM_TIMEOUT_MS_<ROLE>). Others use `llmTimeoutMs`. */
  roleTimeouts: Partial<Record<LlmRole, number>>;
  /** The time, for what depends on it passing (review deadlines); tests move it. */
  now(): number;
}

/** What one role calls: its model (none: the fallback decides), its timeout, its circuit breaker. */
export interface LlmBinding {
  model: LanguageModel | undefined;
  timeoutMs: number;
  /** A role with its own model has its own breaker: a failing extraction model must not silence oversight. */
  breaker: string;
}

export function llmFor(svc: SwarmServices, role: LlmRole): LlmBinding {
  const own = svc.roleModels[role];
  return {
    model: own === undefined ? svc.model : (own ?? undefined),
    timeoutMs: svc.roleTimeouts[role] ?? svc.llmTimeoutMs,
    breaker: own ? `${LLM_BREAKER}:${role}` : LLM_BREAKER,
  };
}

/** The per-role overrides the configuration names (one client per distinct model name). */
function roleOverrides(env: Deps['env']): Pick<SwarmServices, 'roleModels' | 'roleTimeouts'> {
  const roleModels: SwarmServices['roleModels'] = {};
  const roleTimeouts: SwarmServices['roleTimeouts'] = {};
  const byName = new Map<string, LanguageModel | undefined>();
  for (const role of LLM_ROLES) {
    const s = roleSettings(env, role);
    if (s.ownModel) {
      if (!s.model) roleModels[role] = null;
      else {
        if (!byName.has(s.model)) byName.set(s.model, modelFromConfig({ ...env, LLM_MODEL: s.model }));
        roleModels[role] = byName.get(s.model) ?? null;
      }
    }
    if (env[roleTimeoutVar(role)] !== undefined) roleTimeouts[role] = s.timeoutMs;
  }
  return { roleModels, roleTimeouts };
}

const cache = new WeakMap<Deps, SwarmServices>();

function build(deps: Deps): SwarmServices {
  const env = deps.env;
  let signer: Promise<CertificateSigner> | undefined;
  return {
    policies: policySourceFromEnv(env),
    // Both stores on the container's S3 client, behind its one "s3" breaker.
    artifacts: createArtifactStore(deps.s3, env.S3_BUCKET),
    factsObjects: createFactsObjectStore(deps.s3, env.S3_BUCKET),
    embeddings: createEmbeddingsClient({ baseUrl: env.FACTS_WORKER_URL, dim: env.EMBEDDING_DIM }),
    model: modelFromConfig(env),
    authzAdmin: createAuthzAdmin(env),
    signer: () => (signer ??= loadSigner(env)),
    llmTimeoutMs: env.LLM_TIMEOUT_MS,
    ...roleOverrides(env),
    now: Date.now,
  };
}

export function services(deps: Deps): SwarmServices {
  let s = cache.get(deps);
  if (!s) {
    s = build(deps);
    cache.set(deps, s);
  }
  return s;
}

/** Tests: replace some services (a scripted model, a dead embeddings worker...) for these deps. */
export function provideServices(deps: Deps, overrides: Partial<SwarmServices>): SwarmServices {
  const s = { ...services(deps), ...overrides };
  cache.set(deps, s);
  return s;
}
