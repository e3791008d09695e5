// facts: a document (or a human resolution) arrives → record it in the context log,
// extract claims, goals and risks (LLM, or the offline extractor), embed the claims,
// merge them into the semantic graph (a restated fact is matched to its node), find
// contradictions between documents and the revisions that resolve them, publish the
// facts artifact, and propose ContextIngested → FactsExtracted.
// When the cycle comes back to ContextIngested with documents that arrived meanwhile,
// it proposes again (activation: new context since its last proposal).
import { lambdaHandler } from '../../shared/runtime/lambda.ts';
import { defineStep, type StepContext } from '../../shared/runtime/step.ts';
import type { Envelope } from '../../shared/contract/envelope.ts';
import { PermanentError, TransientError } from '../../shared/contract/errors.ts';
import { message, payloadOf } from '../../shared/contract/messages.ts';
import { findContradictions, resolves, type SourcedStatement } from '../../shared/extract/contradictions.ts';
import { extractFacts, type DocumentFacts, type Statement } from '../../shared/extract/extract.ts';
import { extractFactsWithLlm } from '../../shared/llm/facts-agent.ts';
import { withLlm } from '../../shared/llm/run.ts';
import { appendEvent, latestSeq } from '../../shared/store/context-log.ts';
import { getNode, nearestClaims, queryEdges, queryNodes, resolveEdge, setEmbedding, upsertEdge, upsertNode, type GraphNode } from '../../shared/store/graph.ts';
import { getScope } from '../../shared/store/scopes.ts';
import { readState } from '../../shared/store/state.ts';
import { activation } from '../../shared/swarm/activation.ts';
import { emptyFacts, FactsArtifactSchema, withDocument, type FactsArtifact } from '../../shared/swarm/facts-doc.ts';
import { corroborate, matchClaim, SAME_FIGURE_MIN_COSINE, type KnownClaim } from '../../shared/swarm/match.ts';
import { loadMemory, saveMemory } from '../../shared/swarm/memory.ts';
import { proposeAdvance } from '../../shared/swarm/propose.ts';
import { services } from '../../shared/swarm/services.ts';

const AGENT = 'facts';
const DOC_KINDS = ['context_doc', 'resolution'] as const;
/** Impact of a risk on the scope's risk score, by severity; a mitigated risk counts half. */
export const RISK_DELTA = { low: 0.02, medium: 0.05, high: 0.08, critical: 0.2 } as const;

export const step = defineStep({
  name: AGENT,
  consumes: ['doc.submitted', 'state.advanced'],
  timeoutMs: 120_000,
  handle: (msg, ctx) => (msg.type === 'doc.submitted' ? onDocument(msg, ctx) : onCycle(msg, ctx)),
});
export const app = step.app;
export const handler = lambdaHandler(step);

async function authorize(ctx: StepContext, scope: string): Promise<void> {
  const r = await ctx.deps.authz.check({ user: `agent:${AGENT}`, relation: 'contributor', object: `scope:${scope}` });
  if (r.allowed) return;
  if (r.reason === 'unavailable') throw new TransientError('authz_unavailable', `OpenFGA unavailable: ${r.detail ?? ''}`);
  throw new PermanentError('not_authorized', `agent:${AGENT} is not a contributor on scope:${scope} (${r.reason})`);
}

const statementValue = (s: Statement) => ({ ...s.value, ...(s.period ? { period: s.period } : {}), surface: s.surface });

function knownOf(n: GraphNode): KnownClaim {
  const v = n.value as (Statement['value'] & { period?: string; surface?: string }) | null;
  if (!n.subject || !n.metric || !v || typeof v.value !== 'number') return { nodeId: n.nodeId, content: n.content };
  const { period, surface, ...value } = v;
  return { nodeId: n.nodeId, content: n.content, statement: { subject: n.subject, metric: n.metric, ...(period ? { period } : {}), value, surface: surface ?? '' } };
}

const docsOf = (n: { sourceRef: Record<string, unknown> }): string[] => (Array.isArray(n.sourceRef.docs) ? (n.sourceRef.docs as string[]) : []);

/** A sentence stating two figures is two claims: give each its own text. */
function claimContent(facts: DocumentFacts, i: number): string {
  const c = facts.claims[i]!;
  const twins = facts.claims.filter((x) => x.text === c.text && x.statement).length;
  return twins > 1 && c.statement ? `${c.text} [${c.statement.subject}, ${c.statement.metric}]` : c.text;
}

async function onDocument(msg: Envelope, ctx: StepContext) {
  const doc = payloadOf('doc.submitted', msg.payload);
  const svc = services(ctx.deps);
  const db = ctx.deps.db;
  if (!(await getScope(db, msg.scope))) throw new PermanentError('scope_not_found', `scope ${msg.scope} does not exist (create it with PUT /v1/scopes/${msg.scope})`);
  await authorize(ctx, msg.scope);

  // Slow work first, outside any transaction: extraction, embeddings, the S3 artifact.
  const extracted = await withLlm<DocumentFacts>({
    step: 'facts',
    model: svc.model,
    timeoutMs: svc.llmTimeoutMs,
    run: (model, signal) => extractFactsWithLlm(model, { title: doc.title, text: doc.text }, signal),
    fallback: () => extractFacts(doc.text),
  });
  const facts = { ...extracted.value, title: doc.title };

  let vectors: (number[] | undefined)[] = facts.claims.map(() => undefined);
  let embedError: string | undefined;
  if (svc.embeddings.enabled && facts.claims.length) {
    try {
      vectors = (await svc.embeddings.embed(facts.claims.map((c) => c.text), { signal: ctx.signal })).vectors;
    } catch (err) {
      // The worker being down never loses a claim: it is stored without a vector and embedded later.
      embedError = (err as Error).message;
      ctx.log.warn({ err }, 'embeddings unavailable; claims stored without vectors');
    }
  }
  // Claims stored earlier without a vector get one now, when the worker is back.
  const pending = embedError ? [] : (await queryNodes(db, msg.scope, { kinds: ['claim'] })).filter((n) => !n.hasEmbedding).slice(0, 64);
  let pendingVectors: number[][] = [];
  if (pending.length) {
    try {
      pendingVectors = (await svc.embeddings.embed(pending.map((n) => n.content), { signal: ctx.signal })).vectors;
    } catch {
      pendingVectors = [];
    }
  }

  const prev = await svc.artifacts.latest<FactsArtifact>(msg.scope, 'facts');
  const base = prev ? (FactsArtifactSchema.parse(prev.document) as FactsArtifact) : emptyFacts(msg.scope);
  const artifact = withDocument(base, doc.doc_id, { title: doc.title, kind: doc.kind, tier: extracted.tier, facts });
  const published = await svc.artifacts.publish(msg.scope, 'facts', artifact, { writer: AGENT, expected: prev?.pointer.sha256 ?? null });
  if (!published.ok) throw new TransientError('facts_artifact_conflict', 'another writer replaced the facts artifact; retrying on the new version');
  const factsSha = published.pointer.sha256;

  return ctx.commit(async (tx) => {
    // One document of a scope at a time: matching reads what the previous one wrote.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`facts:${msg.scope}`]);
    const { seq } = await appendEvent(tx, {
      scope: msg.scope,
      kind: doc.kind === 'resolution' ? 'resolution' : 'context_doc',
      source: AGENT,
      messageId: msg.id,
      payload: { doc_id: doc.doc_id, title: doc.title, text: doc.text, submitted_by: doc.submitted_by, extraction_tier: extracted.tier, ...(extracted.fallbackReason ? { fallback_reason: extracted.fallbackReason } : {}) },
    });
    for (let i = 0; i < pending.length && i < pendingVectors.length; i++) await setEmbedding(tx, pending[i]!.nodeId, pendingVectors[i]!);

    const current = await queryNodes(tx, msg.scope, { kinds: ['claim'], statuses: ['active', 'in_progress', 'resolved'] });
    const byId = new Map(current.map((n) => [n.nodeId, n]));
    const known = current.map(knownOf);
    const claimIds: string[] = [];
    let unembedded = 0;
    for (let i = 0; i < facts.claims.length; i++) {
      const c = facts.claims[i]!;
      const content = claimContent(facts, i);
      const v = vectors[i];
      const neighbours = v ? (await nearestClaims(tx, msg.scope, v, { k: 3, minSimilarity: SAME_FIGURE_MIN_COSINE })).map((n) => ({ nodeId: n.node.nodeId, similarity: n.similarity })) : [];
      const m = matchClaim({ content, ...(c.statement ? { statement: c.statement } : {}) }, known, neighbours);
      const existing = m ? byId.get(m.nodeId) : undefined;
      if (existing) {
        const r = await upsertNode(tx, {
          scope: msg.scope, kind: 'claim', nodeId: existing.nodeId, content: existing.content, createdBy: AGENT,
          confidence: corroborate(existing.confidence, c.confidence),
          sourceRef: { docs: [...new Set([...docsOf(existing), doc.doc_id])] },
          metadata: { [`restated_in_${doc.doc_id}`]: m!.by },
          ...(v && !existing.hasEmbedding ? { embedding: v } : {}),
        });
        claimIds.push(r.id);
      } else {
        const r = await upsertNode(tx, {
          scope: msg.scope, kind: 'claim', content, createdBy: AGENT, confidence: c.confidence, sourceDoc: doc.doc_id,
          sourceRef: { docs: [doc.doc_id] },
          ...(c.statement ? { subject: c.statement.subject, metric: c.statement.metric, value: statementValue(c.statement) } : {}),
          ...(c.section ? { metadata: { section: c.section } } : {}),
          ...(v ? { embedding: v } : {}),
        });
        if (!v) unembedded++;
        claimIds.push(r.id);
        known.push({ nodeId: r.id, content, ...(c.statement ? { statement: c.statement } : {}) });
        // A later claim of this document may restate this one: keep its node at hand.
        const fresh = await getNode(tx, r.id);
        if (fresh) byId.set(r.id, fresh);
      }
    }

    for (const g of facts.goals) {
      await upsertNode(tx, {
        scope: msg.scope, kind: 'goal', content: g.text, createdBy: AGENT, sourceDoc: doc.doc_id, confidence: 0.8,
        ...(g.statement ? { subject: g.statement.subject, metric: g.statement.metric, value: statementValue(g.statement) } : {}),
      });
    }
    for (const r of facts.risks) {
      const risk = await upsertNode(tx, { scope: msg.scope, kind: 'risk', content: r.text, createdBy: AGENT, severity: r.severity, sourceDoc: doc.doc_id, confidence: 0.8, ...(r.mitigation ? { metadata: { mitigation: r.mitigation } } : {}) });
      // The risk dimension reads assessments: each risk's estimated impact on the scope.
      const delta = RISK_DELTA[r.severity] * (r.mitigation ? 0.5 : 1);
      await upsertNode(tx, {
        scope: msg.scope, kind: 'assessment', content: `Impact of risk: ${r.text}`, createdBy: AGENT, severity: r.severity, sourceDoc: doc.doc_id, confidence: 0.8,
        metadata: { risk_delta: delta, risk_node_id: risk.id, mitigated: Boolean(r.mitigation) },
      });
    }

    // Contradictions across documents, over every current claim that states a figure.
    const claimsNow = await queryNodes(tx, msg.scope, { kinds: ['claim'], statuses: ['active', 'in_progress'] });
    const statements: SourcedStatement[] = claimsNow.flatMap((n) => {
      const k = knownOf(n);
      return k.statement ? (docsOf(n).length ? docsOf(n) : [n.sourceDoc ?? n.nodeId]).map((d) => ({ id: n.nodeId, doc: d, statement: k.statement! })) : [];
    });
    const contradictions = findContradictions(statements);
    const edges = await queryEdges(tx, msg.scope, { kinds: ['contradicts'] });
    let found = 0;
    for (const c of contradictions) {
      const [a, b] = c.sides;
      const covered = edges.some((e) => (a.ids.includes(e.sourceId) && b.ids.includes(e.targetId)) || (b.ids.includes(e.sourceId) && a.ids.includes(e.targetId)));
      if (covered) continue;
      const [src, dst] = [a.ids.slice().sort()[0]!, b.ids.slice().sort()[0]!].sort();
      const r = await upsertEdge(tx, {
        scope: msg.scope, kind: 'contradicts', sourceId: src!, targetId: dst!, createdBy: AGENT,
        metadata: { subject: c.subject, metric: c.metric, period: c.period ?? null, sides: c.sides.map((s) => ({ value: s.value, docs: s.docs })), found_in: doc.doc_id },
      });
      if (r.action === 'insert') found++;
    }

    // Revisions in this document that settle a contested figure resolve its contradiction.
    const resolvedEdges = new Set<string>();
    const open = (await queryEdges(tx, msg.scope, { kinds: ['contradicts'], statuses: ['active'] })).filter((e) => e.metadata.subject);
    for (const rev of facts.revisions) {
      const revIdx = facts.claims.findIndex((c) => c.text === rev.text);
      const revNode = revIdx >= 0 ? claimIds[revIdx] : undefined;
      for (const e of open) {
        const m = e.metadata as { subject: string; metric: string; period: string | null; sides: { value: Statement['value']; docs: string[] }[] };
        const side = (i: number) => ({ value: m.sides[i]!.value, docs: m.sides[i]!.docs, ids: [] as string[] });
        if (!resolves(rev, { subject: m.subject, metric: m.metric, ...(m.period ? { period: m.period } : {}), sides: [side(0), side(1)] })) continue;
        if (!resolvedEdges.has(e.edgeId)) await resolveEdge(tx, msg.scope, e.edgeId, AGENT, rev.text.slice(0, 500));
        if (revNode) await upsertEdge(tx, { scope: msg.scope, kind: 'resolves', sourceId: revNode, targetId: e.edgeId, createdBy: AGENT, metadata: { doc: doc.doc_id, from: rev.from ?? null, to: rev.to ?? null } });
        resolvedEdges.add(e.edgeId);
      }
    }

    const state = await readState(tx, msg.scope);
    const emit = [
      message('facts.extracted', {
        doc_id: doc.doc_id, facts_sha: factsSha, tier: extracted.tier, claims: facts.claims.length, goals: facts.goals.length, risks: facts.risks.length,
        contradictions_found: found, contradictions_resolved: resolvedEdges.size, unembedded,
      }),
    ];
    // Propose the next step only from ContextIngested; mid-cycle documents wait for the cycle to come round.
    if (state?.node === 'ContextIngested') {
      await saveMemory(tx, msg.scope, AGENT, { lastSeq: seq, lastHash: factsSha, activated: true });
      emit.push(proposeAdvance(msg.scope, AGENT, state, `document ${doc.doc_id} extracted`));
    } else {
      await saveMemory(tx, msg.scope, AGENT, { lastHash: factsSha, activated: true });
    }
    return {
      emit,
      result: { doc_id: doc.doc_id, tier: extracted.tier, claims: facts.claims.length, contradictions_found: found, contradictions_resolved: resolvedEdges.size, unembedded, ...(embedError ? { embed_error: embedError.slice(0, 200) } : {}) },
    };
  });
}

async function onCycle(msg: Envelope, ctx: StepContext) {
  const adv = payloadOf('state.advanced', msg.payload);
  if (adv.to !== 'ContextIngested') return { result: { skipped: `state moved to ${adv.to}` } };
  const db = ctx.deps.db;
  const [memory, latest, state] = await Promise.all([loadMemory(db, msg.scope, AGENT), latestSeq(db, msg.scope, DOC_KINDS), readState(db, msg.scope)]);
  const act = activation([{ kind: 'new_context' }], memory, { now: Date.now(), latestSeq: latest });
  if (!act.activate || state?.node !== 'ContextIngested' || state.epoch !== adv.epoch) {
    return { result: { skipped: act.activate ? 'state moved on' : act.reasons.join('; ') } };
  }
  return ctx.commit(async (tx) => {
    await saveMemory(tx, msg.scope, AGENT, { lastSeq: latest, activated: true });
    return { emit: [proposeAdvance(msg.scope, AGENT, state, act.reasons.join('; '))], result: { proposed: true, reasons: act.reasons } };
  });
}
