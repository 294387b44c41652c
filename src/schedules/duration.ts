/**
 * ISO-8601 durations for `catchup.window`: the subset with a fixed length in elapsed time.
 * `PnW`, or `PnDTnHnMnS` with any of the parts (`P1D`, `PT1H`, `PT90M`, `P1DT12H`,
 * `PT0.5S`); integers, seconds with up to 3 decimals; a day is 24 hours. Years and months
 * (`P1M`, `P1Y`) have no fixed length and are refused, as are negative, zero and longer than
 * {@link MAX_DURATION_MS} (366 days) durations.
 *
 * @example
 * parseDuration('PT90M'); // { ok: true, value: 5_400_000 }
 */
import { fail, ok, type Result } from './issues.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The longest window accepted: 366 days. */
export const MAX_DURATION_MS = 366 * DAY;

const FORM = /^P(?:([0-9]{1,6})W|(?:([0-9]{1,6})D)?(?:T(?=[0-9])(?:([0-9]{1,7})H)?(?:([0-9]{1,9})M)?(?:([0-9]{1,11}(?:[.,][0-9]{1,3})?)S)?)?)$/;

/**
 * Parses an ISO-8601 duration into milliseconds; issues are `{field, code:
 * 'DURATION_INVALID', message}` with `field` defaulting to `catchup.window`.
 *
 * @example
 * parseDuration('P1M'); // issue: "catchup.window: months and years have no fixed length …"
 */
export function parseDuration(input: unknown, field = 'catchup.window'): Result<number> {
  if (typeof input !== 'string') return fail(field, 'DURATION_INVALID', 'must be a string (an ISO-8601 duration such as PT1H)');
  const m = FORM.exec(input);
  if (m === null || input === 'P') {
    if (/^P[^T]*[YM]/.test(input)) {
      return fail(field, 'DURATION_INVALID', `${JSON.stringify(input)}: months and years have no fixed length; use days (P30D)`);
    }
    return fail(
      field,
      'DURATION_INVALID',
      `${JSON.stringify(input.slice(0, 40))} is not an ISO-8601 duration of the form PnW or PnDTnHnMnS (e.g. PT1H, PT90M, P1D)`,
    );
  }
  const [, w, d, h, mi, s] = m;
  const n = (x: string | undefined): number => (x === undefined ? 0 : Number(x.replace(',', '.')));
  const ms = Math.round(n(w) * 7 * DAY + n(d) * DAY + n(h) * HOUR + n(mi) * MINUTE + n(s) * SECOND);
  if (ms <= 0) return fail(field, 'DURATION_INVALID', `${input} is zero; a window must be longer (the "none" policy starts nothing)`);
  if (ms > MAX_DURATION_MS) return fail(field, 'DURATION_INVALID', `${input} is longer than P366D`);
  return ok(ms);
}
