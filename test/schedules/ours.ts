/** Our evaluator behind the {@link NextFn} interface of the property checks. */
import { nextFire, parseCron, type Cron } from '../../src/schedules/index.js';
import type { NextFn } from './properties.js';

const parsed = new Map<string, Cron>();

export const ours: NextFn = (expr, tz, afterMs) => {
  let c = parsed.get(expr);
  if (c === undefined) {
    const r = parseCron(expr);
    if (!r.ok) throw new Error(r.issue.message);
    c = r.value;
    parsed.set(expr, c);
  }
  return nextFire(c, tz, afterMs);
};
