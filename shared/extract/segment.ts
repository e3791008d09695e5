// Split a plain-text business document into the units the extractor reads:
// a title, headings (they give context to the lines below them) and text lines
// (paragraphs and bullets). Pure, no NLP: layout only.

export type SegmentKind = 'title' | 'heading' | 'paragraph' | 'bullet';

export interface Segment {
  kind: SegmentKind;
  text: string;
  /** The heading this line sits under ("Hiring", "Risks and mitigations"). */
  heading?: string;
  /** A label that prefixes the line: "Risk", "Mitigation", "Action", "Goals for the cycle". */
  label?: string;
  line: number;
}

const BULLET = /^\s*(?:[-*•–]|\(?\d{1,2}[.)])\s+/;
const LABEL = /^([A-Z][A-Za-z &/-]{1,40}):\s+(.+)$/;

function isHeading(line: string, following: string[]): boolean {
  const t = line.trim();
  // A lead-in for a list: "Assumptions we are making:".
  if (/^[A-Z][^:]{2,60}:$/.test(t) && t.split(/\s+/).length <= 8) return following.some((l) => BULLET.test(l));
  if (!t || BULLET.test(t) || /[.!?;:,]$/.test(t) || t.includes(':')) return false;
  const words = t.split(/\s+/).length;
  // Short, unpunctuated, followed by content: "Hiring", "Risks and mitigations".
  return words <= 6 && following.some((l) => l.trim() !== '');
}

export function segment(text: string): Segment[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: Segment[] = [];
  let heading: string | undefined;
  let titleSeen = false;
  let para: { text: string; line: number } | undefined;

  const flush = () => {
    if (para) out.push(withLabel({ kind: 'paragraph', text: para.text, heading, line: para.line }));
    para = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const t = raw.trim();
    if (!t) {
      flush();
      continue;
    }
    if (!titleSeen) {
      titleSeen = true;
      out.push({ kind: 'title', text: t, line: i + 1 });
      continue;
    }
    if (BULLET.test(t)) {
      flush();
      out.push(withLabel({ kind: 'bullet', text: t.replace(BULLET, '').trim(), heading, line: i + 1 }));
      continue;
    }
    if (!para && isHeading(t, lines.slice(i + 1, i + 3))) {
      heading = t.replace(/:$/, '');
      out.push({ kind: 'heading', text: heading, line: i + 1 });
      continue;
    }
    // Header fields ("To:", "Date:") stay one segment per line.
    if (!para) para = { text: t, line: i + 1 };
    else para.text += ' ' + t;
    if (LABEL.test(t) && t.length < 80 && !/[.!?]$/.test(t)) flush();
  }
  flush();
  return out;
}

function withLabel(s: Segment): Segment {
  const m = LABEL.exec(s.text);
  if (!m) return s;
  return { ...s, label: m[1]!.trim(), text: m[2]!.trim() };
}

/** "Date: 2024-10-15" or an ISO date anywhere in the header lines. */
export function documentDate(segments: Segment[]): string | undefined {
  for (const s of segments.slice(0, 8)) {
    if (s.label?.toLowerCase() === 'date') {
      const m = /(\d{4}-\d{2}-\d{2})/.exec(s.text);
      if (m) return m[1];
    }
  }
  return undefined;
}
