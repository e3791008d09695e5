// Cosine thresholds for all-MiniLM-L6-v2 sentence embeddings, in one place: who
// decides that two claims are the same, related or unrelated reads them from here.
// Figures and goals compare subject phrases with thresholds of their own, per kind
// of figure (extract/compare.ts, domain/goals.ts).

/**
 * From measured claim pairs (facts-worker/tools/similarity_table.py): restatements of
 * one fact scored 0.64-0.95 (n=10), unrelated claims 0.09-0.27, different facts on a
 * related topic 0.37-0.90. A score at or above SAME_FACT_MIN_COSINE makes an existing
 * claim a *candidate* for "same fact restated"; the caller must still compare the
 * structured reading (subject, metric, value, period): "hire 20 engineers in Q4" vs
 * "hire 35 engineers in Q4" scores 0.92, "Revenue for Q3 was $2.1M" vs "$3.4M" 0.97
 * and a negation 0.79 — higher than most true restatements. Those are revisions or
 * contradictions, not duplicates. Below UNRELATED_MAX_COSINE claims are unrelated.
 */
export const SAME_FACT_MIN_COSINE = 0.6;
export const UNRELATED_MAX_COSINE = 0.45;

/**
 * Cosine at which two claims without figures are the same claim, with no structured
 * reading to check: above every related-but-different pair measured but one (0.90), so
 * a paraphrase that scores lower stays a node of its own rather than merging two facts.
 */
export const SAME_CLAIM_MIN_COSINE = 0.9;
