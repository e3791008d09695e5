-- The figures index: every figure a document states (a value with its unit, subject,
-- period and the sentence it came from), pointing at the claim node that holds its
-- value. Contradiction checks look a new figure up here — by unit (metric) and by the
-- nearest subject embeddings — instead of comparing it with every claim of the scope.
-- Derived from the documents (the graph keeps the claims and contradictions); a
-- figure a later document revised is kept, marked 'revised', and no longer matched.
CREATE TABLE figures (
  figure_id          bigserial PRIMARY KEY,
  scope_id           text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  node_id            uuid NOT NULL,
  doc_id             text NOT NULL,
  metric             text NOT NULL,
  subject            text NOT NULL,
  -- The subject as matched: acronyms the scope defined spelled out.
  subject_text       text NOT NULL,
  subject_embedding  vector({{EMBEDDING_DIM}}),
  statement          jsonb NOT NULL,
  sentence           text NOT NULL,
  status             text NOT NULL DEFAULT 'current' CHECK (status IN ('current', 'revised')),
  revised_by         text,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX figures_lookup ON figures (scope_id, metric) WHERE status = 'current';
CREATE INDEX figures_node ON figures (node_id);
CREATE INDEX figures_doc ON figures (scope_id, doc_id);

-- Terms a scope's documents define ("annual recurring revenue (ARR)"), so that a later
-- document's "ARR" is matched as what it stands for.
CREATE TABLE scope_terms (
  scope_id   text NOT NULL REFERENCES scopes ON DELETE CASCADE,
  term       text NOT NULL,
  expansion  text NOT NULL,
  doc_id     text NOT NULL,
  PRIMARY KEY (scope_id, term)
);
