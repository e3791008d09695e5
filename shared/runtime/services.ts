// What the agent steps use beyond the runtime's clients: policies, the artifact stores,
// the embeddings worker, the language model (none by default), the certificate signer
// and the clock. They are fields of the one dependency container (./deps.ts, ctx.deps);
// this module says how each is built from the configuration and the container's S3
// client. Which model and timeout a role gets is llmFor (shared/llm/run.ts).
import type { Env } from '../config.ts';
import { createEmbeddingsClient, type EmbeddingsClient } from '../adapters/embeddings.ts';
import type { S3Sender } from '../adapters/s3.ts';
import { modelFromConfig, type LanguageModel } from '../llm/model.ts';
import { LLM_ROLES, roleSettings, roleTimeoutVar } from '../llm/roles.ts';
import type { LlmSettings } from '../llm/run.ts';
import { policySourceFromEnv, type PolicySource } from '../policy/load.ts';
import { createArtifactStore, type ArtifactStore } from '../store/artifacts.ts';
import { loadSigner, type CertificateSigner } from '../adapters/signer.ts';
import { createFactsObjectStore, type FactsObjectStore } from '../store/facts-documents.ts';

/** The models and their timeouts (LlmSettings, read by llmFor), and the rest. */
export interface SwarmServices extends LlmSettings {
  policies: PolicySource;
  artifacts: ArtifactStore;
  /** One immutable object per document's facts (indexed by facts_documents). */
  factsObjects: FactsObjectStore;
  embeddings: EmbeddingsClient;
  signer(): Promise<CertificateSigner>;
  /** The time, for what depends on it passing (review deadlines); tests move it. */
  now(): number;
}

/** The per-role models the configuration names (one client per distinct model name). */
function roleModels(env: Env): SwarmServices['roleModels'] {
  const models: SwarmServices['roleModels'] = {};
  const byName = new Map<string, LanguageModel | undefined>();
  for (const role of LLM_ROLES) {
    const s = roleSettings(env, role);
    if (!s.ownModel) continue;
    if (!s.model) models[role] = null;
    else {
      if (!byName.has(s.model)) byName.set(s.model, modelFromConfig({ ...env, LLM_MODEL: s.model }));
      models[role] = byName.get(s.model) ?? null;
    }
  }
  return models;
}

function roleTimeouts(env: Env): SwarmServices['roleTimeouts'] {
  const timeouts: SwarmServices['roleTimeouts'] = {};
  for (const role of LLM_ROLES) {
    if (env[roleTimeoutVar(role)] !== undefined) timeouts[role] = roleSettings(env, role).timeoutMs;
  }
  return timeouts;
}

/** How the container builds each service on first use; `c.s3` is its S3 client behind the "s3" breaker. */
export function swarmServiceBuilders(env: Env): { [K in keyof SwarmServices]: (c: { readonly s3: S3Sender }) => SwarmServices[K] } {
  return {
    policies: () => policySourceFromEnv(env),
    // Both stores on the container's S3 client, behind its one "s3" breaker.
    artifacts: (c) => createArtifactStore(c.s3, env.S3_BUCKET),
    factsObjects: (c) => createFactsObjectStore(c.s3, env.S3_BUCKET),
    embeddings: () => createEmbeddingsClient({ baseUrl: env.FACTS_WORKER_URL, dim: env.EMBEDDING_DIM }),
    model: () => modelFromConfig(env),
    signer: () => {
      let signer: Promise<CertificateSigner> | undefined;
      return () => (signer ??= loadSigner(env));
    },
    llmTimeoutMs: () => env.LLM_TIMEOUT_MS,
    roleModels: () => roleModels(env),
    roleTimeouts: () => roleTimeouts(env),
    now: () => Date.now,
  };
}
