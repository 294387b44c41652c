/**
 * Random cron expressions (fast-check) against the brute-force oracle: over two-day windows,
 * mostly around changes of offset, the evaluator's fires equal the instants the contract's
 * rules pick minute by minute from Intl's own wall-clock times. The expressions are generated
 * as structures; the oracle expands the structure itself, the evaluator parses the text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { firesBetween, nextFire, parseCron } from '../../src/schedules/index.js';
import { ALL_ZONES, bruteFires, fieldsOf, OracleZone } from './oracle.js';
import { changesIn, oracleFor } from './properties.js';

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

interface Expr {
  text: string;
  sets: Set<number>[];
  domStar: boolean;
  dowStar: boolean;
  hourElapsed: boolean;
}

const exprArb: fc.Arbitrary<Expr> = fc
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

function matcher(e: Expr): (w: number) => boolean {
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
const neverFires = (e: Expr): boolean =>
  (e.domStar || e.dowStar) && ![...e.sets[3]!].some((m) => [...e.sets[2]!].some((d) => d <= MAX_DAYS[m]!));

const oracles = new Map<string, OracleZone>();
function intlOracle(zone: string): OracleZone {
  let oz = oracles.get(zone);
  if (oz === undefined) oracles.set(zone, (oz = new OracleZone(zone)));
  return oz;
}

/** How many windows had fires, and in how many the DST rules changed the answer. */
const stats = { windows: 0, withFires: 0, rulesMattered: 0 };

function checkWindow(e: Expr, zone: string, a: number): void {
  const parsed = parseCron(e.text);
  if (neverFires(e)) {
    assert.equal(parsed.ok ? 'ok' : parsed.issue.code, 'CRON_NEVER_FIRES', e.text);
    return;
  }
  assert.ok(parsed.ok, `${e.text}: ${parsed.ok ? '' : parsed.issue.message}`);
  const b = a + 2 * 24 * HOUR;
  const oz = intlOracle(zone);
  const want = bruteFires(matcher(e), e.hourElapsed, (t) => oz.wallIntl(t), a, b);
  const got = firesBetween(parsed.value, zone, a, b, 10_000).fires;
  assert.deepEqual(got.map((t) => new Date(t).toISOString()), want.map((t) => new Date(t).toISOString()), `${e.text} in ${zone} after ${new Date(a).toISOString()}`);
  if (want.length > 0) assert.equal(nextFire(parsed.value, zone, a), want[0]);
  stats.windows++;
  if (want.length > 0) stats.withFires++;
  if (want.join() !== bruteFires(matcher(e), !e.hourElapsed, (t) => oz.wallIntl(t), a, b).join()) stats.rulesMattered++;
}

// Zones with every kind of change: 1 h, 30 min (Lord Howe), 2–3 h (Antarctica), at midnight,
// at 00:01 (Casey), a quarter-hour offset (Chatham).
const CHANGING = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago', 'America/Havana', 'Asia/Gaza', 'Antarctica/Casey', 'Antarctica/Troll', 'Pacific/Chatham', 'Africa/Casablanca', 'Asia/Tehran', 'Australia/Adelaide', 'America/St_Johns'];
const changes = CHANGING.flatMap((z) => changesIn(oracleFor(z)).map((c) => ({ zone: z, at: c.at })));

test('random expressions around changes of offset equal the brute-force oracle', () => {
  assert.ok(changes.length > 400);
  fc.assert(
    fc.property(exprArb, fc.integer({ min: 0, max: changes.length - 1 }), fc.integer({ min: -40 * 60, max: 10 * 60 }), (e, i, offMin) => {
      const c = changes[i]!;
      checkWindow(e, c.zone, c.at + offMin * MINUTE + (offMin % 7) * 1000);
    }),
    { numRuns: 200 },
  );
  // Not vacuous: most windows fire, and in some the gap / repeat rules decided the answer.
  assert.ok(stats.withFires > stats.windows / 2, JSON.stringify(stats));
  assert.ok(stats.rulesMattered >= 10, JSON.stringify(stats));
});

test('random expressions at random instants of random zones equal the brute-force oracle', () => {
  const from = Date.UTC(2020, 0, 1);
  const to = Date.UTC(2040, 11, 29);
  fc.assert(
    fc.property(exprArb, fc.constantFrom(...ALL_ZONES), fc.integer({ min: 0, max: (to - from) / MINUTE }), (e, zone, m) => {
      checkWindow(e, zone, from + m * MINUTE);
    }),
    { numRuns: 100 },
  );
});
