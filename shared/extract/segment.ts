// Split a plain-text (or Markdown) business document into the units the extractor
// reads: a title, headings (they give context to the lines below them) and text
// lines (paragraphs, bullets, table rows). Each keeps its offset in the document, and
// its text has the same length as the span it came from (line breaks become spaces),
// so offsets found inside a segment map straight back into the document. Pure.

export type SegmentKind = 'title' | 'heading' | 'paragraph' | 'bullet';

export interface Segment {
  kind: SegmentKind;
  text: string;
  /** Offset of `text` in the document. */
  start: number;
  /** The heading this line sits under ("Hiring", "Risks and mitigations"). */
  heading?: string;
  /** A label that prefixes the line: "Risk", "Mitigation", "Action", "Goals for the cycle". */
  label?: string;
  line: number;
}

const BULLET = /^(\s*(?:[-*•–]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+)/;
const LABEL = /^([A-Z][A-Za-z0-9 &/()'’-]{1,40}):\s+(?=\S)/;
const MD_HEADING = /^(\s*#{1,6}\s+)/;
/** A Markdown table row: cells between pipes. */
const TABLE_ROW = /^\s*\|.*\|\s*$/;

function isHeading(line: string, following: string[]): boolean {
  const t = line.trim();
  if (MD_HEADING.test(t)) return true;
  // A lead-in for a list: "Assumptions we are making:".
  if (/^[A-Z][^:]{2,60}:$/.test(t) && t.split(/\s+/).length <= 8) return following.some((l) => BULLET.test(l));
  if (!t || BULLET.test(t) || /[.!?;:,]$/.test(t) || t.includes(':') || /\d{2,}/.test(t)) return false;
  const words = t.split(/\s+/).length;
  // Short, unpunctuated, followed by content: "Hiring", "Risks and mitigations".
  return words <= 6 && following.some((l) => l.trim() !== '');
}

export function segment(text: string): Segment[] {
  const lines: { text: string; start: number }[] = [];
  let pos = 0;
  for (const l of text.split('\n')) {
    lines.push({ text: l.replace(/\r$/, ''), start: pos });
    pos += l.length + 1;
  }
  const out: Segment[] = [];
  let heading: string | undefined;
  let titleSeen = false;
  let para: { start: number; end: number; line: number } | undefined;
  let tableHeader: string[] | undefined;

  const flush = () => {
    if (para) out.push(withLabel({ kind: 'paragraph', text: text.slice(para.start, para.end).replace(/[\r\n]/g, ' '), start: para.start, heading, line: para.line }));
    para = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    const { text: raw, start } = lines[i]!;
    const t = raw.trim();
    const lead = raw.length - raw.trimStart().length;
    if (!t) {
      flush();
      tableHeader = undefined;
      continue;
    }
    // The first line is a title only when something follows it: a one-line document
    // ("We will hire 20 engineers in Q4.") is all body, or its facts would be lost.
    if (!titleSeen && lines.slice(i + 1).some((l) => l.text.trim() !== '')) {
      titleSeen = true;
      const md = MD_HEADING.exec(raw);
      const skip = md ? md[1]!.length : lead;
      out.push({ kind: 'title', text: raw.slice(skip).trimEnd(), start: start + skip, line: i + 1 });
      continue;
    }
    if (TABLE_ROW.test(raw)) {
      flush();
      // "| Revenue | $48.0M |" reads as "Revenue: $48.0M" with the header's column names kept as context.
      const cells = raw.split('|').slice(1, -1).map((c) => c.trim());
      if (cells.every((c) => /^:?-{2,}:?$/.test(c))) continue;
      if (!tableHeader) {
        tableHeader = cells;
        continue;
      }
      out.push({ kind: 'bullet', text: raw.replace(/\|/g, ' '), start, heading: tableHeader.join(' / ') || heading, line: i + 1 });
      continue;
    }
    if (BULLET.test(raw)) {
      flush();
      const m = BULLET.exec(raw)!;
      out.push(withLabel({ kind: 'bullet', text: raw.slice(m[1]!.length).trimEnd(), start: start + m[1]!.length, heading, line: i + 1 }));
      continue;
    }
    if (!para && isHeading(raw, lines.slice(i + 1, i + 3).map((l) => l.text))) {
      const md = MD_HEADING.exec(raw);
      heading = raw.slice(md ? md[1]!.length : lead).trim().replace(/:$/, '');
      out.push({ kind: 'heading', text: heading, start: start + (md ? md[1]!.length : lead), line: i + 1 });
      continue;
    }
    // Header fields ("To:", "Date:") stay one segment per line.
    const field = LABEL.test(t) && t.length < 80 && !/[.!?]$/.test(t);
    if (field) flush();
    if (!para) para = { start: start + lead, end: start + raw.trimEnd().length, line: i + 1 };
    else para.end = start + raw.trimEnd().length;
    if (field) flush();
  }
  flush();
  return out;
}

function withLabel(s: Segment): Segment {
  const m = LABEL.exec(s.text);
  if (!m) return s;
  const cut = m[0].length;
  return { ...s, label: m[1]!.trim(), text: s.text.slice(cut), start: s.start + cut };
}

/** "Date: 2024-10-15", or an ISO date anywhere in the header lines. */
export function documentDate(segments: Segment[]): string | undefined {
  for (const s of segments.slice(0, 8)) {
    if (s.label?.toLowerCase() === 'date') {
      const m = /(\d{4}-\d{2}-\d{2})/.exec(s.text);
      if (m) return m[1];
    }
  }
  for (const s of segments.slice(0, 4)) {
    const m = /\b(\d{4}-\d{2}-\d{2})\b/.exec(s.text);
    if (m) return m[1];
  }
  return undefined;
}
