// Small, explicit vocabulary the offline extractor uses to give a quantity a
// subject and a metric, so that "hire approximately 20 engineers in Q4" and
// "onboard 15+ engineers by Dec 31" land on the same key. Deliberately short and
// readable: extend it when a new domain needs it.

/** Lemma → canonical subject. */
export const SUBJECT_TRIGGERS: Record<string, string> = {
  hire: 'hiring',
  hiring: 'hiring',
  onboard: 'hiring',
  recruit: 'hiring',
  recruiting: 'hiring',
  headcount: 'hiring',
  revenue: 'revenue',
  sale: 'revenue',
  sales: 'revenue',
  arr: 'revenue',
  turnover: 'revenue',
  margin: 'operating margin',
  deployment: 'deployments',
  valuation: 'valuation',
  price: 'price',
  patent: 'patents',
  client: 'customers',
  customer: 'customers',
  logo: 'customers',
  offer: 'offers',
  delay: 'delay',
  delayed: 'delay',
  growth: 'growth',
  cagr: 'growth',
  budget: 'budget',
  cost: 'cost',
  churn: 'churn',
  uptime: 'uptime',
  vertical: 'verticals',
};

/** Words that turn a subject into its forward-looking variant. */
export const GUIDANCE_WORDS = new Set(['outlook', 'guidance', 'forecast', 'projection']);

/** Unit lemma → canonical unit. */
export const UNIT_ALIASES: Record<string, string> = {
  engineer: 'engineers',
  engineers: 'engineers',
  hire: 'engineers',
  hires: 'engineers',
  developer: 'engineers',
  headcount: 'engineers',
  week: 'weeks',
  day: 'days',
  month: 'months',
  deployment: 'deployments',
  logo: 'customers',
  customer: 'customers',
  client: 'customers',
  offer: 'offers',
  vertical: 'verticals',
  patent: 'patents',
};

/** A subject's usual unit, for numbers stated without one under its heading ("Goal of 20"). */
export const DEFAULT_UNIT: Record<string, string> = {
  hiring: 'engineers',
};

export const MONTHS = new Set([
  'jan', 'january', 'feb', 'february', 'mar', 'march', 'apr', 'april', 'may', 'jun', 'june', 'jul', 'july',
  'aug', 'august', 'sep', 'sept', 'september', 'oct', 'october', 'nov', 'november', 'dec', 'december',
]);

export const MAGNITUDE: Record<string, number> = {
  k: 1e3, thousand: 1e3, m: 1e6, 'm.': 1e6, mn: 1e6, million: 1e6, b: 1e9, bn: 1e9, billion: 1e9,
};

export const CURRENCY: Record<string, string> = { $: 'USD', '€': 'EUR', '£': 'GBP' };

export const APPROX_WORDS = new Set(['approximately', 'about', 'around', 'roughly', '~', 'circa', 'nearly', 'almost', 'estimated', 'some']);

/** Verbs that state a revision or a reconciliation of a figure, in past form. */
export const REVISION_WORDS = new Set([
  'revised', 'updated', 'changed', 'lowered', 'raised', 'reduced', 'cut', 'adjusted', 'restated', 'corrected',
  'aligned', 'reconciled', 'amended',
]);

export const GOAL_WORDS = /\b(goals?|aims?|aim to|targets?|objectives?|plans? to|intends? to|commit(?:s|ted)? to|priorit(?:y|ies|ise|ize))\b/i;
export const RISK_WORDS = /\b(risks?|may miss|might miss|could (?:delay|impact|affect|harm)|may (?:delay|shift|slip)|dependency on|exposure|outage|threat|concern)\b/i;
export const SEVERITY: [RegExp, 'critical' | 'high' | 'medium' | 'low'][] = [
  [/\b(critical|severe|existential|lawsuit|litigation|breach)\b/i, 'critical'],
  [/\b(miss|delay|loss|lose|outage|halt|block)\w*\b/i, 'high'],
  [/\b(expected to close|minor|limited|low)\b/i, 'low'],
];
