/**
 * The independent oracle of the DST property tests. It shares no code with src/schedules:
 * wall-clock times come from Intl's calendar fields (`hourCycle: 'h23'`, year … second), not
 * from `longOffset`; offset changes are found by its own probing (every 2 days at 12:00 UTC, bisected
 * to the minute); and the contract's rules are applied literally, minute by minute.
 */
const MINUTE = 60_000;
const DAY = 86_400_000;

/** Every zone the runtime knows, plus UTC, sorted. */
export const ALL_ZONES: readonly string[] = [...new Set([...Intl.supportedValuesOf('timeZone'), 'UTC'])].sort();

/** Zones of shard k of n (round robin over the sorted list, so each shard mixes regions). */
export function shard(k: number, n: number): string[] {
  return ALL_ZONES.filter((_, i) => i % n === k);
}

/** A change of offset: from instant `at` on, `after` (ms) instead of `before`. */
export interface Change {
  at: number;
  before: number;
  after: number;
}

/** A zone seen only through Intl's calendar fields. */
export class OracleZone {
  private readonly fmt: Intl.DateTimeFormat;
  private changes: Change[] = [];
  private from = 0;
  private to = 0;
  private base = 0;

  constructor(readonly name: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Wall-clock time (as UTC ms) of instant `t`, straight from Intl ("9/13/2020, 14:26:40"). */
  wallIntl(t: number): number {
    const s = this.fmt.format(t);
    const m = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/.exec(s);
    if (m === null) throw new Error(`oracle cannot read ${JSON.stringify(s)}`);
    const sec = Math.floor(t / 1000) * 1000;
    return Date.UTC(+m[3]!, +m[1]! - 1, +m[2]!, +m[4]!, +m[5]!, +m[6]!) + (t - sec);
  }

  offsetIntl(t: number): number {
    return this.wallIntl(t) - t;
  }

  /** Finds every change of offset in [from, to] (probes every 2 days, bisects to the minute). */
  scan(from: number, to: number): Change[] {
    this.from = from;
    this.to = to;
    this.base = this.offsetIntl(from);
    const out: Change[] = [];
    let lo = from;
    let loOff = this.base;
    for (let p = Math.floor(from / DAY) * DAY + DAY / 2; lo < to; p += 2 * DAY) {
      const probe = Math.min(p, to);
      if (probe <= lo) continue;
      const probeOff = this.offsetIntl(probe);
      while (probeOff !== loOff) {
        let a = lo;
        let b = probe;
        while (b - a > MINUTE) {
          const mid = a + Math.floor((b - a) / 2 / MINUTE) * MINUTE;
          if (this.offsetIntl(mid) === loOff) a = mid;
          else b = mid;
        }
        const after = this.offsetIntl(b);
        if (this.offsetIntl(b - 1000) !== loOff) throw new Error(`${this.name}: change near ${b} is not on a minute`);
        out.push({ at: b, before: loOff, after });
        lo = b;
        loOff = after;
      }
      lo = probe;
    }
    this.changes = out;
    return out;
  }

  /** Offset at `t` from the scanned changes (t must lie in the scanned range). */
  offsetAt(t: number): number {
    if (t < this.from || t > this.to) throw new Error(`${this.name}: ${t} outside the scanned range`);
    const c = this.changes;
    let lo = 0;
    let hi = c.length; // first change with at > t
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c[mid]!.at <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? this.base : c[lo - 1]!.after;
  }

  wall(t: number): number {
    return t + this.offsetAt(t);
  }

  /** Every instant (on a minute) whose wall-clock time is `w`, ascending. */
  instantsOf(w: number): number[] {
    const offs = new Set<number>([this.offsetAt(Math.max(this.from, w - 20 * 3_600_000))]);
    for (const c of this.changes) if (Math.abs(c.at - w) < 20 * 3_600_000) offs.add(c.after).add(c.before);
    return [...offs].map((o) => w - o).filter((t) => t >= this.from && t <= this.to && this.wall(t) === w).sort((a, b) => a - b);
  }
}

/** Wall-clock fields the oracle's matchers look at. */
export interface WallFields {
  minute: number;
  hour: number;
  day: number;
  month: number;
  /** 0 = Sunday */
  weekday: number;
}

export function fieldsOf(w: number): WallFields {
  const d = new Date(w);
  return { minute: d.getUTCMinutes(), hour: d.getUTCHours(), day: d.getUTCDate(), month: d.getUTCMonth() + 1, weekday: d.getUTCDay() };
}

/** Minute of the hour of a wall-clock time (cheap, for hot matchers). */
export const minuteOf = (w: number): number => Math.floor(w / MINUTE) % 60;

/**
 * The contract's rules, minute by minute over instants in (a, b]. A fixed-hour expression:
 * a matching wall-clock time fires at the first instant that shows it (a wall time newer than
 * every one shown before), and every matching wall-clock time a jump forward skips fires at
 * the first instant after the jump. An elapsed-time expression (`hourElapsed`): every
 * instant showing a matching wall-clock time fires. `wallOf` gives an instant's wall-clock
 * time (Intl per minute, or a scanned {@link OracleZone}).
 */
export function bruteFires(
  matches: (w: number) => boolean,
  hourElapsed: boolean,
  wallOf: (t: number) => number,
  a: number,
  b: number,
): number[] {
  const fires: number[] = [];
  // Start 4 hours early so that "shown before" sees a fall-back that began before a.
  let t = Math.floor((a - 4 * 3_600_000) / MINUTE) * MINUTE;
  let prevWall = wallOf(t);
  let maxWall = prevWall;
  for (t += MINUTE; t <= b; t += MINUTE) {
    const w = wallOf(t);
    let fire = false;
    if (!hourElapsed) {
      for (let s = prevWall + MINUTE; s < w && !fire; s += MINUTE) if (s > maxWall && matches(s)) fire = true;
    }
    if (!fire && matches(w) && (hourElapsed || w > maxWall)) fire = true;
    if (fire && t > a) fires.push(t);
    prevWall = w;
    if (w > maxWall) maxWall = w;
  }
  return fires;
}
