/**
 * IANA time zones from the runtime's own ICU data (offline): validation of a name, and a
 * {@link TimeZone} that answers "which offset is in force at this instant" and "which instants
 * show this wall-clock time" from a per-year table of offset changes.
 *
 * A year's table is built once, lazily, from `Intl.DateTimeFormat(…, {timeZoneName:
 * 'longOffset'})`: the offset is read at every UTC midnight of the year and each change is
 * located to the second by bisection. This finds every change unless two changes undo each
 * other within 24 hours; the shortest interval between two changes in the runtime's data for
 * 2020–2040 is 6.96 days (Asia/Gaza; `npx tsx scripts/tz-transitions.ts` measures it).
 *
 * @example
 * const z = timeZone('Europe/Berlin');
 * z.offsetAt(Date.UTC(2024, 6, 1)); // 7_200_000 (CEST, +02:00)
 */
import { fail, ok, type Result } from './issues.js';

const SECOND = 1000;
const DAY = 86_400_000;
/** Farther from UTC than any offset the tz database has ever had (−15:56 … +15:13). */
export const MAX_OFFSET_MS = 16 * 3_600_000;

const NAME_RE = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;

/**
 * Validates a time-zone name against the runtime's IANA data: the names of
 * `Intl.supportedValuesOf('timeZone')`, `UTC`, and every alias or `Etc/` zone `Intl` accepts
 * (`US/Eastern`, `Etc/GMT+5`, any letter case). Offsets (`+02:00`) and abbreviations Intl does
 * not know are refused. The value is the name as given.
 *
 * @example
 * checkTimeZone('Europe/Berlin'); // { ok: true, value: 'Europe/Berlin' }
 * checkTimeZone('Mars/Olympus');  // issue: "timezone: unknown time zone …"
 */
export function checkTimeZone(input: unknown, field = 'timezone'): Result<string> {
  if (typeof input !== 'string') return fail(field, 'TIMEZONE_UNKNOWN', 'must be a string (an IANA time zone name)');
  if (!NAME_RE.test(input)) {
    return fail(field, 'TIMEZONE_UNKNOWN', `${JSON.stringify(input.slice(0, 80))} is not an IANA time zone name (e.g. Europe/Berlin, UTC)`);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: input });
  } catch {
    return fail(field, 'TIMEZONE_UNKNOWN', `unknown time zone "${input}" (not in this runtime's IANA time zone data)`);
  }
  return ok(input);
}

/** A stretch of constant offset: instants in [start, end) are `offset` ms ahead of UTC. */
export interface Span {
  readonly start: number;
  readonly end: number;
  readonly offset: number;
}

/** One UTC year of a zone, cut into spans of constant offset (cut at the year's ends too). */
interface YearTable {
  start: number;
  end: number;
  spans: Span[];
}

/** Parses the `GMT±hh:mm[:ss]` tail of a `longOffset` formatting (`GMT` alone is UTC). */
function parseLongOffset(s: string): number {
  const g = s.lastIndexOf('GMT');
  if (g < 0 || s.length === g + 3) return 0;
  const sign = s.charCodeAt(g + 3) === 45 /* - */ || s.charCodeAt(g + 3) === 0x2212 ? -1 : 1;
  const [h, m, sec] = s.slice(g + 4).split(':').map(Number) as [number, number | undefined, number | undefined];
  return sign * ((h * 60 + (m ?? 0)) * 60 + (sec ?? 0)) * SECOND;
}

const MAX_YEARS_CACHED = 64;

/** A time zone with a lazily built table of its offsets. Get one with {@link timeZone}. */
export class TimeZone {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly years = new Map<number, YearTable>();
  private last: YearTable | undefined;

  constructor(readonly name: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' });
  }

  /** The runtime's canonical spelling (`US/Eastern` → `America/New_York`). */
  get canonical(): string {
    return this.fmt.resolvedOptions().timeZone;
  }

  /** The offset (local − UTC, ms) straight from Intl, uncached. */
  intlOffset(t: number): number {
    return parseLongOffset(this.fmt.format(t));
  }

  /** The offset (local − UTC, ms) in force at instant `t`. */
  offsetAt(t: number): number {
    return this.spanAt(t).offset;
  }

  /** The span of constant offset that contains instant `t`. */
  spanAt(t: number): Span {
    const spans = this.table(t).spans;
    let i = spans.length - 1;
    while (i > 0 && spans[i]!.start > t) i--;
    return spans[i]!;
  }

  /**
   * Calls `fn(span)` for each span of constant offset that overlaps [a, b], in time order
   * (spans are cut at UTC year boundaries; two neighbours may share an offset).
   */
  spans(a: number, b: number, fn: (span: Span) => void): void {
    let t = a;
    while (t <= b) {
      const tab = this.table(t);
      for (const sp of tab.spans) if (sp.end > a && sp.start <= b) fn(sp);
      t = tab.end;
    }
  }

  private table(t: number): YearTable {
    const l = this.last;
    if (l !== undefined && t >= l.start && t < l.end) return l;
    const y = new Date(t).getUTCFullYear();
    let tab = this.years.get(y);
    if (tab === undefined) {
      if (this.years.size >= MAX_YEARS_CACHED) this.years.clear();
      tab = this.build(y);
      this.years.set(y, tab);
    }
    this.last = tab;
    return tab;
  }

  private build(y: number): YearTable {
    const start = Date.UTC(y, 0, 1);
    const end = Date.UTC(y + 1, 0, 1);
    const at = [start];
    const off = [this.intlOffset(start)];
    let lo = start;
    let loOff = off[0]!;
    while (lo < end) {
      const probe = Math.min(lo - ((lo - start) % DAY) + DAY, end);
      const probeOff = this.intlOffset(probe);
      // Each change inside (lo, probe]: bisect to the second for the first instant that differs.
      while (probeOff !== loOff) {
        let a = lo;
        let b = probe;
        while (b - a > SECOND) {
          const mid = a + Math.floor((b - a) / (2 * SECOND)) * SECOND;
          if (this.intlOffset(mid) === loOff) a = mid;
          else b = mid;
        }
        if (b >= end) break; // the change is at the next year's first instant
        loOff = this.intlOffset(b);
        at.push(b);
        off.push(loOff);
        lo = b;
      }
      lo = probe;
      loOff = probeOff;
    }
    const spans = at.map((s, i) => ({ start: s, end: at[i + 1] ?? end, offset: off[i]! }));
    return { start, end, spans };
  }
}

const MAX_NAMES_CACHED = 4096;
const zones = new Map<string, TimeZone>();

/**
 * The cached {@link TimeZone} of a name `checkTimeZone` accepted (throws `RangeError` on an
 * unknown one). Spellings of one zone share their tables.
 */
export function timeZone(name: string): TimeZone {
  let z = zones.get(name);
  if (z === undefined) {
    const canonical = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    z = zones.get(canonical) ?? new TimeZone(canonical);
    if (zones.size >= MAX_NAMES_CACHED) zones.clear();
    zones.set(canonical, z);
    zones.set(name, z);
  }
  return z;
}
