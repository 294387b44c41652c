/**
 * Runs the DST property checks of test/schedules against cron libraries, to decide whether
 * one of them could be our evaluator (docs/SCHEDULES.md, "Why our own evaluator"). The
 * libraries are not dependencies of the project; install them anywhere and point at them:
 *
 *   npm install --prefix /tmp/cronlibs croner cron-parser
 *   npx tsx scripts/cron-libraries.ts --modules /tmp/cronlibs/node_modules [--zones all]
 *
 * Prints, for each evaluator (ours included, as the control) and each property, the number
 * of violations and the first few.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ALL_ZONES } from '../test/schedules/oracle.js';
import { checkDaily, checkElapsedAroundChanges, EVERY_15, HOURLY, oracleFor, type NextFn, type Report } from '../test/schedules/properties.js';
import { ours } from '../test/schedules/ours.js';
import fc from 'fast-check';
import { chainFires, changingInstants, exprArb, nearChange, neverFires, oracleWindow, timeOfDayArb, WINDOW_MS, type Expr } from '../test/schedules/random-exprs.js';

const { values } = parseArgs({
  options: {
    modules: { type: 'string', default: join(import.meta.dirname, '..', 'node_modules') },
    zones: { type: 'string', default: 'named' },
    show: { type: 'string', default: '3' },
    only: { type: 'string', default: '' },
    runs: { type: 'string', default: '300' },
    seed: { type: 'string', default: '15' },
  },
});

const NAMED = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Tokyo', 'America/Santiago', 'America/Havana', 'Asia/Gaza', 'Antarctica/Casey', 'Pacific/Chatham', 'Africa/Casablanca', 'Australia/Adelaide', 'America/St_Johns'];
const zones = values.zones === 'all' ? ALL_ZONES : values.zones === 'named' ? NAMED : values.zones!.split(',');

async function load(name: string): Promise<any> {
  const req = createRequire(join(values.modules!, 'noop.js'));
  return import(pathToFileURL(req.resolve(name)).href);
}

let evaluators: [string, NextFn][] = [['ours', ours]];

try {
  const { Cron } = await load('croner');
  const version = createRequire(join(values.modules!, 'noop.js'))('croner/package.json').version;
  const cache = new Map<string, any>();
  evaluators.push([
    `croner ${version}`,
    (expr, tz, after) => {
      let c = cache.get(expr + tz);
      if (c === undefined) cache.set(expr + tz, (c = new Cron(expr, { timezone: tz })));
      const d: Date | null = c.nextRun(new Date(after));
      return d === null ? null : d.getTime();
    },
  ]);
} catch (e) {
  console.error(`croner not found under ${values.modules}: ${(e as Error).message}`);
}

try {
  const mod = await load('cron-parser');
  const Parser = mod.CronExpressionParser ?? mod.default?.CronExpressionParser;
  const version = createRequire(join(values.modules!, 'noop.js'))('cron-parser/package.json').version;
  evaluators.push([
    `cron-parser ${version}`,
    (expr, tz, after) => {
      try {
        return Parser.parse(expr, { currentDate: new Date(after), tz }).next().getTime();
      } catch (e) {
        throw new Error(`cron-parser threw on ${expr} in ${tz} after ${new Date(after).toISOString()}: ${(e as Error).message}`);
      }
    },
  ]);
} catch (e) {
  console.error(`cron-parser not found under ${values.modules}: ${(e as Error).message}`);
}

const checks: [string, (next: NextFn, zone: string) => Report][] = [
  ['30 2 * * * once per local day', (next, z) => checkDaily(next, oracleFor(z))],
  ['*/15 * * * * every 15 elapsed min', (next, z) => checkElapsedAroundChanges(next, oracleFor(z), EVERY_15)],
  ['0 * * * * every elapsed hour', (next, z) => checkElapsedAroundChanges(next, oracleFor(z), HOURLY)],
];

if (values.only) evaluators = evaluators.filter(([n]) => n.startsWith(values.only!));

/**
 * Random expressions near changes of offset (fixed seed): the first counterexample, shrunk.
 * Expressions the library refuses (syntax it lacks, such as `5/15`) are skipped and counted.
 */
function randomProperty(next: NextFn, arb: fc.Arbitrary<Expr>): string {
  const changes = changingInstants();
  let refused = 0;
  const r = fc.check(
    fc.property(arb, nearChange(changes), (e, c) => {
      if (neverFires(e)) return true;
      const want = oracleWindow(e, c.zone, c.at).map((t) => new Date(t).toISOString());
      let got: string[];
      try {
        got = chainFires(next, e.text, c.zone, c.at, c.at + WINDOW_MS).map((t) => new Date(t).toISOString());
      } catch {
        refused++;
        return true;
      }
      if (got.join() !== want.join()) {
        const i = got.findIndex((g, k) => g !== want[k]);
        const j = i < 0 ? got.length : i;
        throw new Error(`"${e.text}" in ${c.zone} after ${new Date(c.at).toISOString()}: got ${got[j] ?? 'no more fires'}, oracle ${want[j] ?? 'no more fires'}`);
      }
      return true;
    }),
    { numRuns: Number(values.runs), seed: Number(values.seed) },
  );
  const verdict = r.failed ? `FAILS: ${(r.errorInstance as Error | undefined)?.message ?? ''}` : `passes ${r.numRuns} runs`;
  return `${verdict} (${refused} refused)`;
}

console.log(`zones: ${zones.length} (${values.zones}), 2020–2040\n`);
for (const [name, next] of evaluators) {
  console.log(`${name} | random time-of-day expressions near changes (seed ${values.seed}) | ${randomProperty(next, timeOfDayArb)}`);
  console.log(`${name} | random expressions near changes (seed ${values.seed}) | ${randomProperty(next, exprArb)}`);
  for (const [what, check] of checks) {
    const t0 = performance.now();
    const violations: string[] = [];
    let zonesFailing = 0;
    for (const z of zones) {
      let r: Report;
      try {
        r = check(next, z);
      } catch (e) {
        r = { zone: z, checked: 0, violations: [`${z}: threw: ${(e as Error).message}`], gaps: 0, repeats: 0 };
      }
      if (r.violations.length) zonesFailing++;
      violations.push(...r.violations);
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`${name} | ${what} | ${zonesFailing}/${zones.length} zones fail | ${violations.length} violations (≤20 listed per zone) | ${secs} s`);
    for (const v of violations.slice(0, Number(values.show))) console.log(`    ${v}`);
  }
}
