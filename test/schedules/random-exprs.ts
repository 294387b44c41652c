/**
 * Random cron expressions for the property tests (fast-check), generated as structures: the
 * oracle expands the structure itself (Vixie semantics), an evaluator gets the text. Shared by
 * dst-random.test.ts and scripts/cron-libraries.ts.
 */
import fc from 'fast-check';
import { bruteFires, fieldsOf, OracleZone } from './oracle.js';
import { changesIn, oracleFor, type NextFn } from './properties.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface Spec {
  min: number;
  max: number;
  /** Largest value `*` stands for (day-of-week: 6, though 7 is allowed). */
  starMax: number;
  names?: string[];
  base?: number;
}
const SPECS: Spec[] = [
  { min: 0, max: 59, starMax: 59 },
  { min: 0, max: 23, starMax: 23 },
  { min: 1, max: 31, starMax: 31 },
  { min: 1, max: 12, starMax: 12, names: MONTHS, base: 1 },
  { min: 0, max: 7, starMax: 6, names: DAYS, base: 0 },
];

type Item =
  | { k: 'star'; step?: number }
  | { k: 'val'; a: number; step?: number; name: boolean }
  | { k: 'range'; a: number; b: number; step?: number; name: boolean };

function itemArb(s: Spec, wild: number): fc.Arbitrary<Item> {
  const v = fc.integer({ min: s.min, max: s.max });
  const step = fc.option(fc.integer({ min: 1, max: Math.min(s.max - s.min + 1, 20) }), { nil: undefined, freq: 2 });
  return fc.oneof(
    { weight: wild, arbitrary: step.map((st): Item => ({ k: 'star', step: st })) },
    { weight: 2, arbitrary: fc.record({ a: v, name: fc.boolean() }).map((x): Item => ({ k: 'val', ...x })) },
    { weight: 1, arbitrary: fc.record({ a: v, st: fc.integer({ min: 1, max: Math.min(s.max - s.min + 1, 15) }) }).map((x): Item => ({ k: 'val', a: x.a, step: x.st, name: false })) },
    {
      weight: 2,
      arbitrary: fc.record({ a: v, b: v, step, name: fc.boolean() }).map((x): Item => ({ k: 'range', a: Math.min(x.a, x.b), b: Math.max(x.a, x.b), step: x.step, name: x.name })),
    },
  );
}

function text(s: Spec, it: Item): string {
  const show = (n: number, name: boolean): string => (name && s.names && n - s.base! < s.names.length ? s.names[n - s.base!]! : String(n));
  const st = it.step === undefined ? '' : `/${it.step}`;
  if (it.k === 'star') return `*${st}`;
  if (it.k === 'val') return `${show(it.a, it.name)}${st}`;
  return `${show(it.a, it.name)}-${show(it.b, it.name)}${st}`;
}

/** The oracle's own expansion of an item (Vixie semantics; `a/s` runs to the field's max). */
function values(s: Spec, it: Item, out: Set<number>): void {
  const [lo, hi] = it.k === 'star' ? [s.min, s.starMax] : it.k === 'val' ? [it.a, it.step === undefined ? it.a : s.max] : [it.a, it.b];
  for (let x = lo; x <= hi; x += it.step ?? 1) out.add(s.max === 7 && x === 7 ? 0 : x);
}

export interface Expr {
  text: string;
  sets: Set<number>[];
  domStar: boolean;
  dowStar: boolean;
  hourElapsed: boolean;
}

export const exprArb: fc.Arbitrary<Expr> = fc
  .tuple(...SPECS.map((s, i) => fc.array(itemArb(s, [3, 3, 14, 14, 14][i]!), { minLength: 1, maxLength: 3 })))
  .map((fields) => {
    const texts = fields.map((items, i) => items.map((it) => text(SPECS[i]!, it)).join(','));
    const sets = fields.map((items, i) => {
      const out = new Set<number>();
      for (const it of items) values(SPECS[i]!, it, out);
      return out;
    });
    return { text: texts.join(' '), sets, domStar: texts[2]!.startsWith('*'), dowStar: texts[4]!.startsWith('*'), hourElapsed: /[*/]/.test(texts[1]!) };
  });

export function matcher(e: Expr): (w: number) => boolean {
  const [mi, h, dom, mon, dow] = e.sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return (w) => {
    const f = fieldsOf(w);
    if (!mi.has(f.minute) || !h.has(f.hour) || !mon.has(f.month)) return false;
    const a = dom.has(f.day);
    const b = dow.has(f.weekday);
    return e.domStar || e.dowStar ? a && b : a || b;
  };
}

const MAX_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
export const neverFires = (e: Expr): boolean =>
  (e.domStar || e.dowStar) && ![...e.sets[3]!].some((m) => [...e.sets[2]!].some((d) => d <= MAX_DAYS[m]!));

const oracles = new Map<string, OracleZone>();
/** A zone's oracle reading Intl at every minute (no scan). */
export function intlOracle(zone: string): OracleZone {
  let oz = oracles.get(zone);
  if (oz === undefined) oracles.set(zone, (oz = new OracleZone(zone)));
  return oz;
}

/** Fires in (a, b] by chaining `next`. */
export function chainFires(next: NextFn, expr: string, zone: string, a: number, b: number): number[] {
  const out: number[] = [];
  for (let t = next(expr, zone, a); t !== null && t <= b; t = next(expr, zone, t)) out.push(t);
  return out;
}

export const WINDOW_MS = 2 * 24 * HOUR;

/** The oracle's fires of `e` in the window (a, a + 2 days]. */
export function oracleWindow(e: Expr, zone: string, a: number, hourElapsed = e.hourElapsed): number[] {
  const oz = intlOracle(zone);
  return bruteFires(matcher(e), hourElapsed, (t) => oz.wallIntl(t), a, a + WINDOW_MS);
}

// Zones with every kind of change: 1 h, 30 min (Lord Howe), 2–3 h (Antarctica), at midnight,
// at 00:01 (Casey), a quarter-hour offset (Chatham).
export const CHANGING = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago', 'America/Havana', 'Asia/Gaza', 'Antarctica/Casey', 'Antarctica/Troll', 'Pacific/Chatham', 'Africa/Casablanca', 'Asia/Tehran', 'Australia/Adelaide', 'America/St_Johns'];

/** Every change of offset of the {@link CHANGING} zones in 2020–2040. */
export function changingInstants(): { zone: string; at: number }[] {
  return CHANGING.flatMap((z) => changesIn(oracleFor(z)).map((c) => ({ zone: z, at: c.at })));
}

/** Window starts near a change: from 40 h before to 10 h after it, at odd seconds too. */
export const nearChange = (changes: { zone: string; at: number }[]): fc.Arbitrary<{ zone: string; at: number }> =>
  fc.tuple(fc.integer({ min: 0, max: changes.length - 1 }), fc.integer({ min: -40 * 60, max: 10 * 60 })).map(([i, m]) => ({ zone: changes[i]!.zone, at: changes[i]!.at + m * MINUTE + (m % 7) * 1000 }));

/** {@link exprArb} with day-of-month, month and day-of-week all `*`: only the time of day varies. */
export const timeOfDayArb: fc.Arbitrary<Expr> = exprArb.map((e) => {
  const [minute, hour] = e.text.split(' ');
  const full = (s: Spec): Set<number> => {
    const out = new Set<number>();
    values(s, { k: 'star' }, out);
    return out;
  };
  return { ...e, text: `${minute} ${hour} * * *`, sets: [e.sets[0]!, e.sets[1]!, full(SPECS[2]!), full(SPECS[3]!), full(SPECS[4]!)], domStar: true, dowStar: true };
});
