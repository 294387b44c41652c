/**
 * Cost of cron evaluation (src/schedules) for a scheduler holding 10,000 schedules:
 * µs per `nextFire` call, cold (first call per zone builds that year's offset table from Intl)
 * and warm, chained, for 10,000 schedules that all fired in the same minute, and right at
 * daylight-saving changes (the slow path); plus `parseCron`.
 *
 *   npx tsx scripts/bench/cron.ts [--schedules 10000] [--reps 7]
 *
 * Prints a table and one `BENCH_RESULT {json}` line (the format of the `npm run bench` sections).
 */
import { parseArgs } from 'node:util';
import { nextFire, parseCron, timeZone, type Cron } from '../../src/schedules/index.js';
import { emit, fig, median, now, quantile } from './lib.js';

const { values } = parseArgs({ options: { schedules: { type: 'string', default: '10000' }, reps: { type: 'string', default: '7' } } });
const N = Number(values.schedules);
const REPS = Number(values.reps);

const EXPRS = ['* * * * *', '*/5 * * * *', '*/15 * * * *', '0 * * * *', '30 2 * * *', '0 9 * * MON-FRI', '15 3 1 * *', '0 0 1 1 *', '@daily', '@weekly', '0 */6 * * *', '5,35 8-18 * * 1-5', '0 0 29 2 *'];
const ZONES = [...Intl.supportedValuesOf('timeZone'), 'UTC'];
const AFTER = Date.parse('2026-06-15T12:00:00.000Z');

function mustParse(text: string): Cron {
  const r = parseCron(text);
  if (!r.ok) throw new Error(r.issue.message);
  return r.value;
}

interface Schedule {
  cron: Cron;
  tz: string;
}
const schedules: Schedule[] = Array.from({ length: N }, (_, i) => ({ cron: mustParse(EXPRS[i % EXPRS.length]!), tz: ZONES[(i * 7) % ZONES.length]! }));

/** µs per call of `fn` over every schedule; `rounds` calls each. */
function perCall(list: Schedule[], fn: (s: Schedule, i: number) => void, rounds = 1): number {
  const t0 = now();
  for (let r = 0; r < rounds; r++) for (let i = 0; i < list.length; i++) fn(list[i]!, i);
  return ((now() - t0) * 1000) / (list.length * rounds);
}

// Parse.
const parseUs = median(Array.from({ length: REPS }, () => perCall(schedules, (_s, i) => void parseCron(EXPRS[i % EXPRS.length]!))));

// Cold: the first call per zone builds its 2026 offset table (≈ 365 Intl calls + bisection).
const t0 = now();
for (const s of schedules) nextFire(s.cron, s.tz, AFTER);
const coldMs = now() - t0;

// Warm: the same calls again.
const warm = Array.from({ length: REPS }, () => perCall(schedules, (s) => void nextFire(s.cron, s.tz, AFTER)));

// Chained: each schedule advanced through its next 20 fires (ordinary scheduler work),
// starting over once a year ahead.
const YEAR_AHEAD = AFTER + 365 * 86_400_000;
const nexts = schedules.map(() => AFTER);
const chained = Array.from({ length: REPS }, () =>
  perCall(schedules, (s, i) => {
    const t = nextFire(s.cron, s.tz, nexts[i]!);
    nexts[i] = t === null || t > YEAR_AHEAD ? AFTER : t;
  }, 20),
);

// Same minute: 10,000 schedules of `* * * * *` in mixed zones all fired at one minute; the
// scheduler asks each for its next fire.
const minutely = Array.from({ length: N }, (_, i) => ({ cron: mustParse('* * * * *'), tz: ZONES[i % ZONES.length]! }));
const sameMinute = Array.from({ length: REPS }, () => perCall(minutely, (s) => void nextFire(s.cron, s.tz, AFTER)));

// At a change: Berlin's 2026-03-29 spring-forward and 2026-10-25 fall-back, `after` in the
// hour before each (general path: gap and repeat resolution).
const berlin = timeZone('Europe/Berlin');
const atChange = [Date.parse('2026-03-29T00:00:00Z'), Date.parse('2026-10-25T00:00:00Z')];
const dstList = Array.from({ length: N }, (_, i) => ({ cron: mustParse(EXPRS[i % 5]!), tz: 'Europe/Berlin' }));
const dst = Array.from({ length: REPS }, () => perCall(dstList, (s, i) => void nextFire(s.cron, berlin, atChange[i % 2]! + (i % 60) * 60_000)));

const result = {
  schedules: N,
  parseUs: fig(parseUs, 'µs/call'),
  coldMs: fig(coldMs, `ms for the first ${N} calls (${ZONES.length} zones' 2026 tables built)`),
  warmUs: fig(median(warm), 'µs/call', { p90: quantile(warm, 0.9) }, warm),
  chainedUs: fig(median(chained), 'µs/call', { p90: quantile(chained, 0.9) }, chained),
  sameMinuteUs: fig(median(sameMinute), 'µs/call', { totalMs: Math.round(median(sameMinute) * N) / 1000 }, sameMinute),
  atDstChangeUs: fig(median(dst), 'µs/call', undefined, dst),
};

const row = (name: string, v: string): string => `${name.padEnd(58)} ${v}`;
console.log(`cron evaluation, ${N} schedules (${EXPRS.length} expressions × ${ZONES.length} zones), medians of ${REPS}`);
console.log(row('parseCron', `${result.parseUs.value} µs`));
console.log(row('nextFire, cold (first call per zone builds its year table)', `${result.coldMs.value} ms for all ${N}`));
console.log(row('nextFire, warm', `${result.warmUs.value} µs`));
console.log(row('nextFire, chained through 20 fires each', `${result.chainedUs.value} µs`));
console.log(row(`nextFire, ${N} × '* * * * *' fired in the same minute`, `${result.sameMinuteUs.value} µs (${result.sameMinuteUs.extra!.totalMs} ms for all)`));
console.log(row('nextFire, within the hour before a DST change (Berlin)', `${result.atDstChangeUs.value} µs`));
emit(result);
