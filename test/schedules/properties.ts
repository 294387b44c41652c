/**
 * The DST properties of issue 15, written against any evaluator (`NextFn`), so that the same
 * checks judge ours (the tests) and the libraries we tried (`scripts/cron-libraries.ts`).
 * Every check compares with the independent {@link OracleZone}.
 */
import { bruteFires, minuteOf, OracleZone, type Change } from './oracle.js';

/** First fire strictly after `afterMs`, or null. */
export type NextFn = (expr: string, tz: string, afterMs: number) => number | null;

export interface Report {
  zone: string;
  checked: number;
  violations: string[];
  /** Fires at the end of a gap (the wall time did not exist). */
  gaps: number;
  /** Fires of a wall time that a fall-back showed twice (the first occurrence fired). */
  repeats: number;
}

const report = (zone: string): Report => ({ zone, checked: 0, violations: [], gaps: 0, repeats: 0 });

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
export const FIRST_DAY = Date.UTC(2020, 0, 1);
export const LAST_DAY = Date.UTC(2040, 11, 31);
const SCAN_FROM = FIRST_DAY - 3 * DAY;
const SCAN_TO = LAST_DAY + 4 * DAY;

const iso = (t: number): string => new Date(t).toISOString().slice(0, 16) + 'Z';
const wallIso = (w: number): string => new Date(w).toISOString().slice(0, 16);

/** A zone's oracle, scanned over 2020–2040 (with a few days of margin). */
export function oracleFor(zone: string): OracleZone {
  const oz = new OracleZone(zone);
  oz.scan(SCAN_FROM, SCAN_TO);
  return oz;
}

/** The oracle's changes of offset between 2020-01-01 and 2040-12-31. */
export function changesIn(oz: OracleZone): Change[] {
  return oz.scan(SCAN_FROM, SCAN_TO).filter((c) => c.at >= FIRST_DAY && c.at < LAST_DAY + DAY);
}

function add(r: Report, v: string): void {
  if (r.violations.length < 20) r.violations.push(`${r.zone}: ${v}`);
}

/**
 * A daily fixed time (`30 2 * * *` by default) fires exactly once per local day from
 * 2020-01-01 to 2040-12-31: at the first instant showing that wall-clock time, or — where it
 * does not exist that day — at the first instant after the gap.
 */
export function checkDaily(next: NextFn, oz: OracleZone, hour = 2, minute = 30): Report {
  const r = report(oz.name);
  const expr = `${minute} ${hour} * * *`;
  const target = (day: number): number => day * DAY + (hour * 60 + minute) * MINUTE;
  const dayOfTarget = (w: number): number => Math.floor((w - target(0)) / DAY);
  let expectDay = FIRST_DAY / DAY;
  const firstInstant = oz.instantsOf(FIRST_DAY)[0];
  if (firstInstant === undefined) throw new Error(`${oz.name}: local 2020-01-01T00:00 does not exist`);
  let t = next(expr, oz.name, firstInstant - 1);
  while (t !== null && expectDay <= LAST_DAY / DAY) {
    const w = oz.wall(t);
    let day: number | undefined;
    if (w === target(dayOfTarget(w))) {
      day = dayOfTarget(w);
      const shows = oz.instantsOf(w);
      if (shows[0] !== t) add(r, `fire ${iso(t)} is not the first occurrence of ${wallIso(w)}`);
      if (shows.length > 1) r.repeats++;
    } else {
      const prev = oz.wall(t - MINUTE);
      const d = dayOfTarget(w);
      const x = target(d);
      if (prev < x && x < w && oz.instantsOf(x).length === 0) {
        day = d;
        r.gaps++;
      } else {
        add(r, `fire ${iso(t)} (local ${wallIso(w)}) is neither ${expr} nor the end of a gap over it`);
        day = d;
      }
    }
    if (day !== expectDay) {
      add(r, day > expectDay ? `local day ${wallIso(expectDay * DAY).slice(0, 10)} has no fire` : `local day ${wallIso(day * DAY).slice(0, 10)} fires twice (${iso(t)})`);
    }
    expectDay = day + 1;
    r.checked++;
    t = next(expr, oz.name, t);
  }
  if (expectDay <= LAST_DAY / DAY) add(r, `no fire from local day ${wallIso(expectDay * DAY).slice(0, 10)} on`);
  return r;
}

function chain(next: NextFn, expr: string, tz: string, a: number, b: number): number[] {
  const out: number[] = [];
  for (let t = next(expr, tz, a); t !== null && t <= b; t = next(expr, tz, t)) out.push(t);
  return out;
}

function firstDifference(got: number[], want: number[]): string {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    if (got[i] !== want[i]) {
      return `fire #${i}: got ${got[i] === undefined ? 'none' : iso(got[i]!)}, oracle ${want[i] === undefined ? 'none' : iso(want[i]!)}`;
    }
  }
  return '';
}

/** An elapsed-time expression the issue names, with its oracle matcher and spacing rule. */
export interface ElapsedCase {
  expr: string;
  /** Whether a wall-clock time (as UTC ms) matches. */
  matches: (w: number) => boolean;
  /** Whether `diff` between consecutive fires is right, given the changes between them. */
  spacingOk: (diff: number, shifts: number[]) => boolean;
}

export const EVERY_15: ElapsedCase = {
  expr: '*/15 * * * *',
  matches: (w) => minuteOf(w) % 15 === 0,
  // Every 15 elapsed minutes, across every change (all offsets are whole quarter hours).
  spacingOk: (diff) => diff === 15 * MINUTE,
};

export const HOURLY: ElapsedCase = {
  expr: '0 * * * *',
  matches: (w) => minuteOf(w) === 0,
  // Every elapsed hour. Only a change by a part of an hour (Lord Howe: 30 min) moves the
  // local :00 against elapsed time: across a forward change by s that interval is 2 h − s
  // (the skipped :00 never elapsed), across a backward one 1 h + s — never under an hour.
  spacingOk: (diff, shifts) =>
    diff === HOUR ||
    shifts.some((s) => s % HOUR !== 0 && diff === (s > 0 ? 2 * HOUR - (s % HOUR) : HOUR + (-s % HOUR))),
};

/**
 * Around every change of offset in 2020–2040 (8 hours either side), the fires equal the
 * oracle's minute-by-minute fires and keep the case's spacing. A zone without changes is
 * checked over its first two days of 2020.
 */
export function checkElapsedAroundChanges(next: NextFn, oz: OracleZone, c: ElapsedCase): Report {
  const r = report(oz.name);
  const changes = changesIn(oz);
  const windows = changes.length ? changes.map((ch) => [ch.at - 8 * HOUR, ch.at + 8 * HOUR] as const) : [[FIRST_DAY, FIRST_DAY + 2 * DAY] as const];
  for (const [a, b] of windows) {
    const got = chain(next, c.expr, oz.name, a, b);
    const want = bruteFires(c.matches, true, (t) => oz.wall(t), a, b);
    const diff = firstDifference(got, want);
    if (diff) add(r, `${c.expr} near ${iso(a + 8 * HOUR)}: ${diff}`);
    const ch = changes.find((x) => x.at === a + 8 * HOUR);
    if (ch && ch.after > ch.before) r.gaps++;
    if (ch && ch.after < ch.before) r.repeats++;
    for (let i = 1; i < got.length; i++) {
      const shifts = changes.filter((ch) => ch.at > got[i - 1]! - HOUR && ch.at <= got[i]!).map((ch) => ch.after - ch.before);
      if (!c.spacingOk(got[i]! - got[i - 1]!, shifts)) add(r, `${c.expr}: ${iso(got[i - 1]!)} → ${iso(got[i]!)} breaks the spacing`);
    }
    r.checked += got.length;
  }
  return r;
}

/**
 * The whole of 2020–2040 in one chain of fires: the spacing holds between every two
 * consecutive fires, and each fire shows a matching wall-clock time.
 */
export function checkElapsedChain(next: NextFn, oz: OracleZone, c: ElapsedCase): Report {
  const r = report(oz.name);
  const changes = changesIn(oz);
  let k = 0;
  let prev: number | null = null;
  const from = oz.instantsOf(FIRST_DAY)[0]! - 1;
  const to = oz.instantsOf(LAST_DAY + DAY)[0]! - 1;
  for (let t = next(c.expr, oz.name, from); t !== null && t <= to; t = next(c.expr, oz.name, t)) {
    if (!c.matches(oz.wall(t))) {
      add(r, `${c.expr}: fire ${iso(t)} shows ${wallIso(oz.wall(t))}, which does not match`);
    }
    if (prev !== null) {
      while (k < changes.length && changes[k]!.at <= prev - HOUR) k++;
      const shifts: number[] = [];
      for (let j = k; j < changes.length && changes[j]!.at <= t; j++) shifts.push(changes[j]!.after - changes[j]!.before);
      if (!c.spacingOk(t - prev, shifts)) add(r, `${c.expr}: ${iso(prev)} → ${iso(t)} breaks the spacing`);
    }
    prev = t;
    r.checked++;
  }
  // As many fires as instants that show a matching wall-clock time: a whole number per day,
  // less the matching wall times that gaps skipped, plus those that fall-backs repeated.
  let expected = ((LAST_DAY + DAY - FIRST_DAY) / DAY) * matchesPerDay(c);
  for (const ch of changes) {
    const [lo, hi] = ch.after > ch.before ? [ch.at + ch.before, ch.at + ch.after] : [ch.at + ch.after, ch.at + ch.before];
    let n = 0;
    for (let w = lo; w < hi; w += MINUTE) if (c.matches(w)) n++;
    expected += ch.after > ch.before ? -n : n;
    if (n > 0) ch.after > ch.before ? r.gaps++ : r.repeats++;
  }
  if (r.checked !== expected) add(r, `${c.expr}: ${r.checked} fires, ${expected} instants show a matching wall-clock time`);
  return r;
}

function matchesPerDay(c: ElapsedCase): number {
  let n = 0;
  for (let w = 0; w < DAY; w += MINUTE) if (c.matches(w)) n++;
  return n;
}
