-- Per-document work must not grow with the scope (issue 11), with an exact nearest-subject
-- lookup. The figures of a new document are compared with the scope's figures of the same
-- unit whose subjects are nearest. Sorting every figure of the unit by distance was exact
-- but grew with the scope; the HNSW index of migration 014 was bounded but missed
-- neighbours (pgvector 0.8.0's iterative scan returned 2 of a scope's 5 nearest). A scope
-- states many figures about few subjects (the 10,000-document growth run: 4,827 figures,
-- 108 subjects), so the exact sort runs over the subjects instead:
--   figure_subjects: one row per distinct subject vector of a (scope, unit), written in
--     the statement that inserts the figure (shared/store/figures.ts insertFigure),
--     never updated or deleted (a subject whose figures were all revised stays; the
--     lookup just finds none of its figures current).
--   figures.subject_key: which subject row a figure belongs to — a digest of its scope,
--     unit and vector text (pgvector prints each float in its shortest exact form, so
--     equal text is the same vector, and the distance of a subject row is that of each of
--     its figures). The scope and unit are in the key so that a subject's figures are
--     read by the key alone: no (scope, unit) condition the planner could serve with
--     figures_lookup instead, reading every figure of the unit for each subject.
--   figures_subject_current / figures_subject_any: a subject's figures, newest first,
--     read up to the lookup's limit (current ones; or every status for a revision).
ALTER TABLE figures ADD COLUMN subject_key text GENERATED ALWAYS AS (
  md5(scope_id || ' ' || length(metric)::text || ' ' || metric || subject_embedding::text)) STORED;

CREATE TABLE figure_subjects (
  subject_key        text PRIMARY KEY,
  scope_id           text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  metric             text NOT NULL,
  subject_embedding  vector({{EMBEDDING_DIM}}) NOT NULL
);
CREATE INDEX figure_subjects_scope ON figure_subjects (scope_id, metric);
INSERT INTO figure_subjects (subject_key, scope_id, metric, subject_embedding)
  SELECT DISTINCT ON (subject_key) subject_key, scope_id, metric, subject_embedding
    FROM figures WHERE subject_key IS NOT NULL;

CREATE INDEX figures_subject_current ON figures (subject_key, figure_id) WHERE status = 'current' AND subject_key IS NOT NULL;
CREATE INDEX figures_subject_any ON figures (subject_key, figure_id) WHERE subject_key IS NOT NULL;

-- Nothing reads the HNSW index since the lookup became exact (the `+ 0` kept the planner
-- off it), and each figure inserted paid for a walk of its graph.
DROP INDEX figures_subject_embedding;
