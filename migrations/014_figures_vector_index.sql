-- Per-document work must not grow with the scope (issue 11). The figures index was
-- looked up by (scope, metric) and then sorted by subject distance: every figure of
-- the unit in the scope was read and compared, for each figure of a new document.
--   figures_subject_embedding: the nearest subjects from an HNSW graph instead (every
--     status: a revision looks for the figures of open contradictions, which may have
--     been retired since; scope, unit and status are filtered as the graph is walked,
--     with hnsw.iterative_scan, see shared/store/figures.ts).
--   figures_unembedded, figures_recent: the most recent figures stored without a vector
--     (the embeddings worker was down), or of any kind when the new figure has none,
--     read newest first and stopped at the limit.
--   graph_nodes_unembedded_claims: the claims awaiting a vector, without reading the
--     scope's other claims, nor its risks and assessments (which never get one).
CREATE INDEX figures_subject_embedding ON figures USING hnsw (subject_embedding vector_cosine_ops);
CREATE INDEX figures_unembedded ON figures (scope_id, figure_id) WHERE subject_embedding IS NULL;
CREATE INDEX figures_recent ON figures (scope_id, figure_id);
CREATE INDEX graph_nodes_unembedded_claims ON graph_nodes (scope_id, version_id)
  WHERE superseded_at IS NULL AND embedding IS NULL AND kind = 'claim';
