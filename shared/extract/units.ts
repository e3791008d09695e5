// Units of measurement and currencies: a closed class, so a table is the right tool
// (unlike subjects, which are open-ended and read from the parse). Each unit maps to
// a dimension and a factor to that dimension's base unit, so "2.6 million cubic
// metres" and "2,600,000 m3", or "24 months" and "2 years", compare as numbers.

export interface UnitDef {
  /** Dimension, the comparison key: mass, volume, energy, power, length, area, duration. */
  dim: string;
  /** Multiply by this to get the dimension's base unit (t, m3, MWh, MW, km, ha, days). */
  factor: number;
  /** Canonical symbol, for display. */
  label: string;
}

const u = (dim: string, factor: number, label: string): UnitDef => ({ dim, factor, label });

/** Symbols, matched case-sensitively ("MW" is not "mW", "Mt" is not "mt"). */
const SYMBOLS: Record<string, UnitDef> = {
  t: u('mass', 1, 't'), kt: u('mass', 1e3, 'kt'), Mt: u('mass', 1e6, 'Mt'), Gt: u('mass', 1e9, 'Gt'), kg: u('mass', 1e-3, 'kg'),
  tCO2e: u('mass', 1, 't'), ktCO2e: u('mass', 1e3, 'kt'), MtCO2e: u('mass', 1e6, 'Mt'),
  m3: u('volume', 1, 'm3'), 'm³': u('volume', 1, 'm3'), ML: u('volume', 1e3, 'ML'), GL: u('volume', 1e6, 'GL'), Mm3: u('volume', 1e6, 'Mm3'),
  kWh: u('energy', 1e-3, 'kWh'), MWh: u('energy', 1, 'MWh'), GWh: u('energy', 1e3, 'GWh'), TWh: u('energy', 1e6, 'TWh'),
  kW: u('power', 1e-3, 'kW'), MW: u('power', 1, 'MW'), GW: u('power', 1e3, 'GW'), MWp: u('power', 1, 'MW'), MWe: u('power', 1, 'MW'),
  kV: u('voltage', 1, 'kV'), MV: u('voltage', 1e3, 'MV'), kVA: u('apparent_power', 1e-3, 'kVA'), MVA: u('apparent_power', 1, 'MVA'),
  km: u('length', 1, 'km'), mi: u('length', 1.609344, 'mi'),
  ha: u('area', 1, 'ha'), km2: u('area', 100, 'km2'), 'km²': u('area', 100, 'km2'), m2: u('area', 1e-4, 'm2'), 'm²': u('area', 1e-4, 'm2'),
  hrs: u('duration', 1 / 24, 'h'),
};

/** Words, matched case-insensitively, singular or plural. */
const WORDS: Record<string, UnitDef> = {
  tonne: u('mass', 1, 't'), ton: u('mass', 1, 't'), 'metric ton': u('mass', 1, 't'), kilotonne: u('mass', 1e3, 'kt'), kiloton: u('mass', 1e3, 'kt'),
  megatonne: u('mass', 1e6, 'Mt'), kilogram: u('mass', 1e-3, 'kg'),
  'cubic metre': u('volume', 1, 'm3'), 'cubic meter': u('volume', 1, 'm3'), litre: u('volume', 1e-3, 'm3'), liter: u('volume', 1e-3, 'm3'),
  megalitre: u('volume', 1e3, 'ML'), megaliter: u('volume', 1e3, 'ML'), gigalitre: u('volume', 1e6, 'GL'),
  'kilowatt hour': u('energy', 1e-3, 'kWh'), 'megawatt hour': u('energy', 1, 'MWh'), 'gigawatt hour': u('energy', 1e3, 'GWh'),
  kilowatt: u('power', 1e-3, 'kW'), megawatt: u('power', 1, 'MW'), gigawatt: u('power', 1e3, 'GW'),
  kilometre: u('length', 1, 'km'), kilometer: u('length', 1, 'km'), metre: u('length', 1e-3, 'm'), meter: u('length', 1e-3, 'm'), mile: u('length', 1.609344, 'mi'),
  hectare: u('area', 1, 'ha'), acre: u('area', 0.40468564, 'acre'), 'square kilometre': u('area', 100, 'km2'), 'square kilometer': u('area', 100, 'km2'),
  'square metre': u('area', 1e-4, 'm2'), 'square meter': u('area', 1e-4, 'm2'), 'square foot': u('area', 9.290304e-6, 'sq ft'), 'square feet': u('area', 9.290304e-6, 'sq ft'),
  day: u('duration', 1, 'days'), 'business day': u('duration', 1.4, 'days'), 'working day': u('duration', 1.4, 'days'), week: u('duration', 7, 'weeks'),
  month: u('duration', 30.4375, 'months'), year: u('duration', 365.25, 'years'), quarter: u('duration', 91.3125, 'quarters'),
  hour: u('duration', 1 / 24, 'h'), minute: u('duration', 1 / 1440, 'min'),
};

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const byLength = (a: string, b: string) => b.length - a.length;
const WORD_RE = Object.keys(WORDS).sort(byLength).map((w) => `${esc(w).replace(/ /g, '[ -]')}s?`).join('|');
const SYMBOL_RE = Object.keys(SYMBOLS).sort(byLength).map(esc).join('|');
const SYMBOL_AT = new RegExp(`^(\\s?-?\\s?)(${SYMBOL_RE})(?![\\w²³]|-\\w)`);
// "two day-surgery units": a unit word inside a hyphenated compound is not the number's unit.
const WORD_AT = new RegExp(`^(\\s?-?\\s?)(${WORD_RE})\\b(?!-\\w)`, 'i');

/**
 * A unit right at the start of `rest` (after the number): "tonnes of steel", "kt CO2e",
 * "-month", " m3". Returns the unit, how many characters it used, and an emissions
 * qualifier when it is tonnes of CO2 equivalent.
 */
export function unitAt(rest: string): { def: UnitDef; length: number; qualifier?: string } | undefined {
  const m = SYMBOL_AT.exec(rest) ?? WORD_AT.exec(rest);
  if (!m) return undefined;
  const key = m[2]!;
  const def = SYMBOLS[key] ?? WORDS[key.toLowerCase().replace(/-/g, ' ')] ?? WORDS[key.toLowerCase().replace(/-/g, ' ').replace(/s$/, '')];
  if (!def) return undefined;
  let length = m[0].length;
  // "kt CO2e", "t of CO2e", "tCO2e": emissions are their own quantity.
  const co2 = /^\s?(?:of\s+)?CO2-?(?:e|eq|equivalent)?\b/i.exec(rest.slice(length));
  if (co2 || /CO2e$/.test(m[2] ?? '')) {
    if (co2) length += co2[0].length;
    return { def: { ...def, dim: `${def.dim}_co2e` }, length, qualifier: 'CO2e' };
  }
  return { def, length };
}

/** ISO 4217 codes and symbols. */
export const CURRENCY_SYMBOLS: Record<string, string> = {
  US$: 'USD', $: 'USD', 'A$': 'AUD', 'C$': 'CAD', 'NZ$': 'NZD', 'HK$': 'HKD', 'S$': 'SGD', 'R$': 'BRL', '€': 'EUR', '£': 'GBP', '¥': 'JPY', '₹': 'INR', '₩': 'KRW', 'Fr.': 'CHF', 'Rs.': 'INR', Rs: 'INR',
};
export const CURRENCY_CODES = ['USD', 'EUR', 'GBP', 'CHF', 'JPY', 'CAD', 'AUD', 'NZD', 'SEK', 'NOK', 'DKK', 'CNY', 'RMB', 'INR', 'BRL', 'ZAR', 'MXN', 'SGD', 'HKD', 'PLN', 'CZK', 'HUF', 'KRW', 'TRY', 'AED', 'SAR', 'ILS'];
export const CURRENCY_WORDS: Record<string, string> = {
  euro: 'EUR', euros: 'EUR', dollar: 'USD', dollars: 'USD', 'us dollars': 'USD', 'pounds sterling': 'GBP', pound: 'GBP', pounds: 'GBP', sterling: 'GBP',
  'swiss francs': 'CHF', francs: 'CHF', yen: 'JPY', kronor: 'SEK', kroner: 'NOK', yuan: 'CNY', renminbi: 'CNY', rupees: 'INR', rand: 'ZAR',
};
