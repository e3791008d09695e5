// The status briefing, template version (the LLM version writes prose; this one is
// what runs with no model, and what a reader of the context log can rely on).
export interface BriefingInput {
  scope: string;
  node: string;
  epoch: number;
  status: string;
  goalScore: number;
  lyapunovV: number;
  alpha: number | null;
  bottleneck: string | null;
  openContradictions: number;
  resolvedContradictions: number;
  pendingReviews: number;
  lastOutcome: string | null;
}

export function templateBriefing(b: BriefingInput): string {
  const parts = [
    `Scope ${b.scope} is ${b.status} at ${b.node} (epoch ${b.epoch}).`,
    `Goal score ${b.goalScore.toFixed(2)}, disagreement V ${b.lyapunovV.toFixed(3)}${b.alpha === null ? '' : `, convergence rate ${b.alpha.toFixed(3)}`}.`,
    `${b.openContradictions} open and ${b.resolvedContradictions} resolved contradiction(s).`,
  ];
  if (b.bottleneck) parts.push(`Bottleneck: ${b.bottleneck.replace(/_/g, ' ')}.`);
  if (b.pendingReviews) parts.push(`${b.pendingReviews} review(s) await a human.`);
  if (b.lastOutcome) parts.push(`Last finality outcome: ${b.lastOutcome}.`);
  return parts.join(' ');
}
