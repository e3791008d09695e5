// The shapes the extractor produces and the rest of the system stores and compares.
// A Statement is one stated figure: a value with its unit, the subject it measures,
// its period, and where in the document it was said.

export type ValueKind = 'money' | 'percent' | 'points' | 'count' | 'measure' | 'ratio' | 'date';

export interface Value {
  kind: ValueKind;
  /**
   * Money in currency units, percentages as stated, measures in their dimension's
   * base unit (t, m3, MWh, MW, km, ha, days), dates as the first day (days since
   * 1970-01-01).
   */
  value: number;
  /** Upper end of a range; for dates, the last day. */
  high?: number;
  approx?: boolean;
  atLeast?: boolean;
  atMost?: boolean;
  plus?: boolean;
  /** Dates: YYYY-MM-DD, YYYY-MM, YYYY-Qn, YYYY-Hn, YYYY. */
  label?: string;
  /** Measures: the factor from the unit as written to the base unit (months → days: 30.4375); value / factor is the number as stated. */
  factor?: number;
}

/** How the document uses a figure. Only asserted figures and targets are claims of the document. */
export type FigureRole = 'asserted' | 'target';

export interface Statement {
  /** The noun phrase the figure measures: "net revenue retention", "total cost of the project". */
  subject: string;
  /**
   * The comparison key of the unit: a currency code (USD), percent, points, a
   * dimension (mass, volume, duration, mass_co2e...), ratio, date, or count:<noun>
   * for counted things (count:patient); `count` alone when nothing names them.
   */
  metric: string;
  /** The unit as written, canonical: "patients", "t", "months", "USD". */
  unit?: string;
  /** Nouns that narrow a counted unit ("traffic" lanes vs "cycle" lanes). */
  qualifiers?: string[];
  /** Identifiers in the subject ("Scope 1", "Phase 2"): different ones are different figures. */
  identifiers?: string[];
  /** Reporting period or as-of date: FY2026, 2026-Q3, Q4, 2026-06-30, LTM, FY. */
  period?: string;
  value: Value;
  /** The figure as written ("approximately 20 engineers"). */
  surface: string;
  role?: FigureRole;
  /** A hedge word qualifying the figure: estimated, expected, about... */
  hedge?: string;
  /** Offsets of the figure in the document text. */
  span?: [number, number];
  /** The value the same sentence denies for this figure ("9%, not 14%"): whoever stated it disagrees. */
  denies?: Value;
  /** Stated as planned, expected or conditional ("we will hire 20"), not as a fact that holds. */
  modal?: boolean;
}
