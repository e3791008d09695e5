// Governance tiers 2 and 3 as one GovernanceTier: the oversight agent (tier 2)
// routes tier 1's decision (accept it, escalate to the full agent, or to a
// human); the tool-calling governance agent (tier 3) reads state, drift and
// policy and approves or rejects with a rationale. Both behind the shared `llm`
// breaker: when it is open, or the model fails or says nothing, tier 1 stands and
// the record says so (governance path processProposal).
import type { GovernanceDecision, GovernanceInput, TierVerdict } from '../../shared/domain/governance.ts';
import { governWithAgent, oversee } from '../../shared/llm/agents.ts';
import { withLlm, type LlmOutcome } from '../../shared/llm/run.ts';
import type { GovernanceTier } from '../../shared/usecases/governance.ts';
import type { LlmBinding } from '../../shared/llm/run.ts';

export interface TierTrace {
  oversight?: LlmOutcome<unknown>;
  agent?: LlmOutcome<unknown>;
}

/** Oversight and the tool-calling agent may use different models (LLM_MODEL_GOVERNANCE_OVERSIGHT / _TOOLS). */
export interface GovernanceModels {
  oversight: LlmBinding;
  tools: LlmBinding;
}

export function llmTiers(m: GovernanceModels, trace: TierTrace = {}): GovernanceTier[] {
  // Without an oversight model nothing routes to the agent: tier 1 decides alone.
  if (!m.oversight.model) return [];
  return [
    {
      tier: 2,
      async consider(input: GovernanceInput, decision: GovernanceDecision): Promise<TierVerdict | null> {
        const deterministic = { decision: decision.decision, reasons: decision.reasons, suggested_actions: decision.suggested_actions };
        const route = await withLlm({
          step: 'governance-oversight',
          ...m.oversight,
          run: (m, signal) => oversee(m, { proposal: input.proposal, deterministic, drift: input.drift }, signal),
          fallback: () => null,
        });
        trace.oversight = route;
        const r = route.value;
        if (!r) return null;
        if (r.route === 'acceptDeterministic') return { tier: 2, decision: decision.decision, governance_path: 'oversight_acceptDeterministic', rationale: r.reason };
        if (r.route === 'escalateToHuman') return { tier: 2, decision: 'review', governance_path: 'oversight_escalateToHuman', rationale: r.reason };
        const verdict = await withLlm({
          step: 'governance-agent',
          ...m.tools,
          run: (m, signal) =>
            governWithAgent(
              m,
              {
                proposal: input.proposal,
                state: input.state,
                drift: input.drift,
                policy: input.policy,
                transitionCheck: { deterministic_decision: decision.decision, blocked_by_rule: decision.blocked_by_rule, reasons: decision.reasons },
              },
              signal,
            ),
          fallback: () => null,
        });
        trace.agent = verdict;
        if (!verdict.value) return null;
        return { tier: 3, decision: verdict.value.decision, governance_path: 'processProposalWithAgent', rationale: verdict.value.rationale };
      },
    },
  ];
}
