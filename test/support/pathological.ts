// Documents that once froze the extractor (issue 10): shared by the unit,
// integration and bench suites. Deterministic; sizes in characters.

/** A wall of numbers (counts, percentages, money, thousands) with no words to attach them to. */
export function numbersWall(chars = 40_000): string {
  const forms = [(k: number) => `${k}`, (k: number) => `${k}%`, (k: number) => `$${k}.5M`, (k: number) => `${k},${String(k).padStart(3, '0')}`];
  let out = 'Figures\n\n';
  for (let n = 0; out.length < chars; n++) out += forms[n % 4]!((n * 7919) % 1000) + ' ';
  return out;
}

/** One sentence of ordinary words and figures, without a full stop until its end. */
export function longSentence(chars = 180_000): string {
  const words = ['the', 'revenue', 'of', 'the', 'company', 'grew', 'by', '12%', 'to', '$4.5M', 'and', 'margin', 'was', 'steady', 'with', 'costs'];
  let out = 'Report\n\n';
  for (let i = 0; out.length < chars; i++) out += words[i % words.length] + ' ';
  return `${out}end.`;
}

/** One "word" of `chars` characters inside a sentence. */
export function longToken(chars = 100_000): string {
  return `Title\n\nThe figure is ${'x'.repeat(chars)} 5% of revenue.`;
}

/** Bytes 1..255 in a fixed pseudo-random order, read as text. */
export function binaryGarbage(chars = 30_000): string {
  let s = '';
  for (let i = 0; i < chars; i++) s += String.fromCharCode(1 + ((i * 2654435761) >>> 0) % 255);
  return `Bin\n\n${s}`;
}

/** Run p while counting event-loop turns: a loop that keeps turning was not blocked. */
export async function ticksDuring<T>(p: Promise<T>): Promise<{ value: T; ticks: number }> {
  let ticks = 0;
  let on = true;
  const tick = () => {
    ticks++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { value: await p, ticks };
  } finally {
    on = false;
  }
}
