// wink-nlp with its English lite model, which ships inside its npm package: the
// offline extractor needs no network and no key. Loaded once per process.
import winkNLP, { type ItemEntity, type ItemSentence } from 'wink-nlp';
import model from 'wink-eng-lite-web-model';

export interface Token {
  text: string;
  lower: string;
  lemma: string;
  pos: string; // Universal POS tag: NOUN, VERB, NUM, PROPN, ADJ, ...
  type: string; // word | number | punctuation | currency | symbol | ...
  /** Entity type covering this token, if any: DATE, MONEY, PERCENT, CARDINAL, DURATION, ... */
  entity?: string;
}

type Nlp = ReturnType<typeof winkNLP>;
let nlp: Nlp | undefined;

function instance(): Nlp {
  nlp ??= winkNLP(model);
  return nlp;
}

/** Sentences of a text, each as tokens with POS, lemma and entity type. */
export function sentences(text: string): { text: string; tokens: Token[] }[] {
  const n = instance();
  const its = n.its;
  const doc = n.readDoc(text);
  const entityOf = new Map<number, string>();
  doc.entities().each((e: ItemEntity) => {
    const [a, b] = e.out(its.span) as unknown as [number, number];
    for (let i = a; i <= b; i++) entityOf.set(i, e.out(its.type) as string);
  });
  const out: { text: string; tokens: Token[] }[] = [];
  doc.sentences().each((s: ItemSentence) => {
    const [a, b] = s.out(its.span) as unknown as [number, number];
    const tokens: Token[] = [];
    for (let i = a; i <= b; i++) {
      const t = doc.tokens().itemAt(i);
      const text = t.out();
      tokens.push({
        text,
        lower: text.toLowerCase(),
        lemma: String(t.out(its.lemma as never)).toLowerCase(),
        pos: t.out(its.pos) as string,
        type: t.out(its.type) as string,
        entity: entityOf.get(i),
      });
    }
    out.push({ text: s.out(), tokens });
  });
  return out;
}
