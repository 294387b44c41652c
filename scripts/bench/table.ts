/**
 * The benchmark's one table: each engine figure, its limit on this machine and the ratio to
 * it, the BullMQ peer's figure and our/peer ratio, the target and whether it is met, and the
 * 1-minute load average when the figure was taken.
 */
import type { Figure } from './lib.js';

export interface Results {
  limits: Record<string, any>;
  engine: Record<string, any>;
  control: Record<string, any>;
  recovery: Record<string, any>;
  peer: Record<string, any>;
  /** client.ts: client-measured chain and fan-out per server build, alternating with BullMQ. */
  client?: Record<string, any>;
  lifecycle?: Record<string, any>;
  cron?: Record<string, any>;
  schedules?: Record<string, any>;
  /** startup.ts: CLI start, serve start-up over stored runs, idle RSS, per build. */
  startup?: Record<string, any>;
  /** engine.ts --store postgres: chain, fan-out, sustained on PostgreSQL (one node, fsync on). */
  enginePg?: Record<string, any>;
  /** nodes.ts: `sleep` steps/s on 1, 2 and 3 nodes; take-over time after SIGKILL. */
  nodes?: Record<string, any>;
  /** index.ts: the in-server sustained figure and BullMQ's, in turns (`ours`, `peer`: every pass's samples). */
  sustainedAb?: Record<string, any>;
}

const f1 = (x: number | undefined, d = 1): string =>
  x === undefined || !Number.isFinite(x) ? '—' : x >= 1000 ? Math.round(x).toLocaleString('en') : x.toFixed(d);
const ratio = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(2)}×`);

export function render(r: Results, machine: { nproc: number; memGiB: number; loadavg: number[] }): string {
  const L = r.limits, E = r.engine, C = r.control, R = r.recovery, P = r.peer;
  const g = (o: Record<string, any>, k: string): Figure | undefined => (o && !o.error && !o.skipped ? o[k] : undefined);
  const commitMs = g(L, 'sqliteCommits') ? 1000 / g(L, 'sqliteCommits')!.value : undefined;
  // A step's round trip: through its plugin host (process IPC + thread) when measured, else a bare thread.
  const rtt = g(L, 'hostRoundTripUs') ?? g(L, 'workerRoundTripUs');
  const rttMs = rtt ? rtt.value / 1000 : undefined;
  const hop = commitMs !== undefined && rttMs !== undefined ? commitMs + rttMs : undefined;
  const rows: string[][] = [];
  const add = (name: string, ours: string, limit: string, vsLimit: string, peer: string, vsPeer: string, target: string, met: boolean | undefined, load: number | undefined) =>
    rows.push([name, ours, limit, vsLimit, peer, vsPeer, target, met === undefined ? '—' : met ? 'yes' : 'NO', load === undefined ? '—' : load.toFixed(1)]);

  const chain = g(E, 'chain40'), pChain = g(P, 'chain40');
  // noop steps are completed by the scheduler itself (the whole chain in one commit): no hop limit.
  add('40-step chain, in-server run time (ms)', f1(chain?.value), '—', '—',
    f1(pChain?.value), ratio(chain && pChain ? chain.value / pChain.value : undefined), '≤ 0.5× peer',
    chain && pChain ? chain.value <= 0.5 * pChain.value : undefined, chain?.load);
  // echo steps: each through a plugin host, one commit + one host round trip per step at best.
  const echo = g(E, 'chain40Echo');
  add('  the same of echo steps (plugin host), in-server (ms)', f1(echo?.value), hop ? f1(40 * hop, 2) : '—', ratio(echo && hop ? echo.value / (40 * hop) : undefined),
    f1(pChain?.value), ratio(echo && pChain ? echo.value / pChain.value : undefined), '—', undefined, echo?.load);
  add('  echo: per step p50 / p99 (ms)', echo ? `${f1(echo.extra?.stepP50Ms as number, 2)} / ${f1(echo.extra?.stepP99Ms as number, 2)}` : '—',
    hop ? f1(hop, 3) : '—', ratio(echo && hop ? (echo.extra?.stepP50Ms as number) / hop : undefined), pChain ? f1(pChain.value / 40, 2) : '—', '—', '—', undefined, echo?.load);
  const fan = g(E, 'fanout100'), pFan = g(P, 'fanout100');
  add('root → 100 → sink, in-server run time (ms)', f1(fan?.value), '—', '—',
    f1(pFan?.value), ratio(fan && pFan ? fan.value / pFan.value : undefined), '≤ 1× peer', fan && pFan ? fan.value <= pFan.value : undefined, fan?.load);
  // Client-measured (client.ts): POST /runs → run.completed read from the stream, vs BullMQ's
  // add → completed event, alternating in one command; the first server build measured.
  const CL = r.client ?? {};
  const [clName, cl] = Object.entries((g(CL, 'targets') ?? {}) as Record<string, Record<string, Figure>>)[0] ?? [];
  const cp = (g(CL, 'peer') ?? {}) as Record<string, Figure | undefined>;
  const cChain = cl?.chain40, cpChain = cp.chain40, cFan = cl?.fanout100, cpFan = cp.fanout100;
  add(`40-step chain, client-measured (ms, ${clName ?? '—'})`, f1(cChain?.value), '—', '—', f1(cpChain?.value), ratio(cChain && cpChain ? cChain.value / cpChain.value : undefined),
    '≤ 0.5× peer', cChain && cpChain ? cChain.value <= 0.5 * cpChain.value : undefined, cChain?.load);
  add('root → 100 → sink, client-measured (ms)', f1(cFan?.value), '—', '—', f1(cpFan?.value), ratio(cFan && cpFan ? cFan.value / cpFan.value : undefined),
    '≤ 0.7× peer', cFan && cpFan ? cFan.value <= 0.7 * cpFan.value : undefined, cFan?.load);
  // The same shapes of echo steps: the no-op that runs code, through a plugin host (noop steps are
  // completed by the scheduler itself); no target of their own, shown against the same peer runs.
  const eChain = cl?.chain40Echo, eFan = cl?.fanout100Echo;
  add('  the same of echo steps (plugin host): chain / fan-out (ms)', eChain ? `${f1(eChain.value)} / ${f1(eFan?.value)}` : '—', '—', '—',
    cpChain ? `${f1(cpChain.value)} / ${f1(cpFan?.value)}` : '—', eChain && cpChain && eFan && cpFan ? `${ratio(eChain.value / cpChain.value)} / ${ratio(eFan.value / cpFan.value)}` : '—', '—', undefined, eChain?.load);
  add('  echo: per step p50 / p99, client-read (ms)', eChain ? `${f1(eChain.extra?.stepP50Ms as number, 2)} / ${f1(eChain.extra?.stepP99Ms as number, 2)}` : '—', '—', '—', '—', '—', '—', undefined, eChain?.load);
  const cSus = cl?.sustained, cpSus = cp.sustained;
  add('sustained steps/s, client-measured (10k, 2 tenants, HTTP)', f1(cSus?.value), '—', '—', f1(cpSus?.value), ratio(cSus && cpSus ? cSus.value / cpSus.value : undefined),
    '≥ 10,000 and ≥ 2× peer', cSus && cpSus ? cSus.value >= 10_000 && cSus.value >= 2 * cpSus.value : undefined, cSus?.load);
  // In turns with BullMQ when that section ran (index.ts `sustainedAlternated`), else the two sections' own.
  const ab = r.sustainedAb ?? {};
  const alternated = g(ab, 'ours') !== undefined && g(ab, 'peer') !== undefined;
  const sus = alternated ? g(ab, 'ours') : g(E, 'sustained'), pSus = alternated ? g(ab, 'peer') : g(P, 'sustained'), sq = g(L, 'sqliteCommits');
  const turns = alternated ? `, in turns with BullMQ ×${String(sus!.extra?.rounds)}` : '';
  add(`sustained no-op steps/s, in-server (10k, 2 tenants${turns})`, f1(sus?.value), f1(sq?.value), ratio(sus && sq ? sus.value / sq.value : undefined),
    f1(pSus?.value), ratio(sus && pSus ? sus.value / pSus.value : undefined), '≥ 2× peer', sus && pSus ? sus.value >= 2 * pSus.value : undefined, sus?.load);
  const EP = r.enginePg ?? {}, N = r.nodes ?? {};
  const pgChain = g(EP, 'chain40'), pgFan = g(EP, 'fanout100'), pgSus = g(EP, 'sustained');
  add('PostgreSQL, 1 node: chain / fan-out ms, sustained steps/s', pgChain ? `${f1(pgChain.value)} / ${f1(pgFan?.value)} / ${f1(pgSus?.value)}` : '—', '—', '—', '—', '—', '—', undefined, pgSus?.load);
  const sl = [1, 2, 3].map((n) => g(N, `sleep${n}`));
  add('sleep steps/s on 1 / 2 / 3 nodes (PostgreSQL)', sl[0] ? sl.map((x) => f1(x?.value)).join(' / ') : '—', '—', '—', '—', '—', '—', undefined, sl[2]?.load);
  const to = [g(N, 'takeover3s'), g(N, 'takeover10s')];
  add('take-over after SIGKILL, s (lease 3 / 10 s)', to[0] ? to.map((x) => f1(x?.value, 2)).join(' / ') : '—', '—', '—', '—', '—', '≤ lease',
    // As the label says: within the lease itself (the check allowed 0.5 s over it before).
    to[0] && to[1] ? to.every((x) => x!.value <= (x!.extra?.leaseTimeoutS as number)) : undefined, to[1]?.load);
  const get = g(C, 'getRun'), hono = g(L, 'bareHono');
  add('GET /runs/{id} req/s (p50/p99 ms), unpinned', get ? `${f1(get.value)} (${get.extra?.p50}/${get.extra?.p99})` : '—',
    hono ? `${f1(hono.value)} (${hono.extra?.p50}/${hono.extra?.p99})` : '—', ratio(get && hono ? get.value / hono.value : undefined),
    '—', '—', '≥ 0.5× limit', get && hono ? get.value >= 0.5 * hono.value : undefined, get?.load);
  const list = g(C, 'listRuns');
  add('GET /runs page of 50, p99 ms (req/s), unpinned', list ? `${f1(list.value)} (${f1(list.extra?.rps as number)})` : '—',
    hono ? `${hono.extra?.p99} (${f1(hono.value)})` : '—', ratio(list && hono ? (list.extra?.rps as number) / hono.value : undefined),
    '—', '—', 'p99 < 5 ms', list ? list.value < 5 : undefined, list?.load);
  const getS = g(C, 'getRunSplit'), listS = g(C, 'listRunsSplit');
  if (getS || listS) {
    add('  same, autocannon on CPU 0, server on CPU 1: GET req/s (p99 ms) / page p99 ms (req/s)', `${f1(getS?.value)} (${getS?.extra?.p99 ?? '—'}) / ${f1(listS?.value)} (${f1(listS?.extra?.rps as number)})`,
      '—', '—', '—', '—', 'p99 < 5 ms', listS ? listS.value < 5 : undefined, listS?.load);
  }
  const st = g(E, 'stream');
  add('stream: step done → line read, p99 (p50) ms', st ? `${f1(st.value, 2)} (${f1(st.extra?.p50Ms as number, 2)})` : '—', '—', '—', '—', '—',
    'p99 < 10 ms', st ? st.value < 10 : undefined, st?.load);
  const fair = g(E, 'fairness');
  add('one-step run (ms): idle / while another tenant floods', fair ? `${f1(fair.extra?.idleMs as number, 2)} / ${f1(fair.value, 2)}` : '—', '—', '—', '—', '—',
    'flooded < 100 ms', fair ? fair.value < 100 : undefined, fair?.load);
  const su = g(C, 'startup');
  add(`start-up to listening, ms (${su?.extra?.mode ?? '—'})`, su ? `${f1(su.value)} (source ${su.extra?.sourceMs})` : '—', '—', '—', '—', '—',
    '< 300 ms', su ? su.value < 300 : undefined, su?.load);
  const rss = g(E, 'rss'), rssC = g(C, 'rssServerIdle');
  add('RSS MB: server idle / engine after sustained (+ hosts)', `${f1(rssC?.value, 0)} / ${f1(rss?.extra?.afterSustainedMb as number, 0)} (+${f1(rss?.extra?.hostsMb as number, 0)})`, '—', '—', '—', '—', '—', undefined, rss?.load);
  const hs = g(E, 'hostStart');
  add('new tenant: first echo run / first exec run (ms)', hs ? `${f1(hs.extra?.spareMs as number)} / ${f1(hs.value)}` : '—', '—', '—', '—', '—', '—', undefined, hs?.load);
  // startup.ts (issue #20): the first build measured.
  const SU = r.startup ?? {};
  const [suName, sb] = Object.entries((g(SU, 'builds') ?? {}) as Record<string, Record<string, Figure>>)[0] ?? [];
  const cv = sb?.cliVersion, ch = sb?.cliHelp, cc = sb?.cliClient;
  add(`CLI version / --help / dags list, ms (CPU ms; ${suName ?? '—'})`, cv ? `${f1(cv.value, 0)} / ${f1(ch?.value, 0)} / ${f1(cc?.value, 0)} (${cv.extra?.cpuMs} / ${ch?.extra?.cpuMs} / ${cc?.extra?.cpuMs})` : '—',
    '—', '—', '—', '—', '—', undefined, cv?.load);
  const ls = sb?.listen, le = sb?.listenEmpty;
  const extraCa = (SU.env as { NODE_EXTRA_CA_CERTS?: string } | undefined)?.NODE_EXTRA_CA_CERTS ?? '—';
  add(`start-up to listening, ${f1(ls?.extra?.storedRuns as number, 0)} runs / none, ms (CPU ms; NODE_EXTRA_CA_CERTS ${extraCa})`, ls ? `${f1(ls.value, 0)} / ${f1(le?.value, 0)} (${ls.extra?.cpuMs} / ${le?.extra?.cpuMs})` : '—',
    '—', '—', '—', '—', '< 200 ms', ls ? ls.value < 200 : undefined, ls?.load);
  // Idle = settled: the target is judged on the later reading, once V8's memory reducer has returned the start-up
  // garbage (it runs after ≈ 8 s without allocation); the early one is printed beside it (BENCHMARKS.md, "Idle RSS").
  const ri = sb?.rssIdle, rsd = sb?.rssSettled, idleRss = rsd ?? ri;
  add(`idle RSS MB, ${ri?.extra?.afterSeconds ?? '—'} s / ${rsd?.extra?.afterSeconds ?? '—'} s after listening (anon)`,
    ri ? `${f1(ri.value, 1)} / ${f1(rsd?.value, 1)} (${f1(ri.extra?.anonMb as number, 1)} / ${f1(rsd?.extra?.anonMb as number, 1)})` : '—', '—', '—', '—', '—',
    `< 80 MB at ${idleRss?.extra?.afterSeconds ?? '—'} s`, idleRss ? idleRss.value < 80 : undefined, idleRss?.load);
  const ic = sb?.idleCpu;
  add(`idle CPU ms/s, ${ic?.extra?.fromSeconds ?? '—'}–${ic?.extra?.toSeconds ?? '—'} s after listening: main / threads / hosts`,
    ic ? `${f1(ic.value, 2)}: ${f1(ic.extra?.mainMs as number, 2)} / ${f1(ic.extra?.threadsMs as number, 2)} / ${f1(ic.extra?.hostsMs as number, 2)}` : '—', '—', '—', '—', '—', '—', undefined, ic?.load);
  const rec = g(R, 'recovery');
  add('recovery: 100 runs, SIGKILL → all moving (ms)', rec ? `${f1(rec.value)} (after listening ${rec.extra?.movingAfterListenMs}, after ready ${rec.extra?.movingAfterReadyMs})` : '—', '—', '—', '—', '—',
    '< 1 s', rec ? rec.value < 1000 : undefined, rec?.load);
  const LC = r.lifecycle ?? {};
  const bk = g(LC, 'backup'), rs = g(LC, 'restore'), pr = g(LC, 'prune');
  add(`backup MB/s (${f1(bk?.extra?.dataMB as number, 0)} MB, ${f1(bk?.extra?.runs as number, 0)} runs)`, f1(bk?.value), `${f1(bk?.extra?.cpMBps as number)} cp -r`,
    ratio(bk ? bk.value / (bk.extra?.cpMBps as number) : undefined), '—', '—', '—', undefined, bk?.load);
  add('restore MB/s (every hash verified)', f1(rs?.value), `${f1(rs?.extra?.cpMBps as number)} cp -r`,
    ratio(rs ? rs.value / (rs.extra?.cpMBps as number) : undefined), '—', '—', '—', undefined, rs?.load);
  add('40-step echo chain step p99 ms: idle / while pruning', pr ? `${f1(pr.extra?.idleP99Ms as number, 2)} / ${f1(pr.value, 2)}` : '—', '—', '—', '—', '—',
    pr ? `${f1(pr.extra?.runsPerSec as number, 0)} runs/s pruned` : '—', undefined, pr?.load);
  const lag = g(r.schedules ?? {}, 'startLagP99');
  add(`schedules: ${r.schedules?.schedules ?? '—'} fires in one minute, start lag p99 (p50) ms`, lag ? `${f1(lag.value)} (${f1(lag.extra?.p50 as number)})` : '—', '—', '—', '—', '—',
    '—', undefined, lag?.load);
  const idle = g(r.schedules ?? {}, 'idleCpu');
  add('schedules: idle CPU ms/s with them armed (with none)', idle ? `${f1(idle.value, 2)} (${f1(idle.extra?.withoutSchedules as number, 2)})` : '—', '—', '—', '—', '—',
    'sleeps: ≈ none', idle ? idle.value <= (idle.extra?.withoutSchedules as number) + 1 : undefined, idle?.load);
  const cr = r.cron ?? {};
  const warm = g(cr, 'warmUs'), same = g(cr, 'sameMinuteUs'), parse = g(cr, 'parseUs'), cold = g(cr, 'coldMs');
  add('cron: nextFire warm / same-minute µs (parseCron µs)', warm ? `${f1(warm.value, 1)} / ${f1(same?.value, 1)} (${f1(parse?.value, 0)})` : '—', '—', '—', '—', '—', '—', undefined, warm?.load);
  add(`cron: nextFire cold, ${cr.schedules ?? '—'} schedules, 419 zones (ms)`, f1(cold?.value), '—', '—', '—', '—', '—', undefined, cold?.load);
  add('limit: SQLite commits/s (WAL, NORMAL)', f1(sq?.value), '', '', '', '', `${f1(sq?.extra?.rowsPerSecBatched1000 as number)} rows/s batched`, undefined, sq?.load);
  const rt = g(L, 'workerRoundTripUs');
  add('limit: worker_threads round trip µs p50 (p99)', rt ? `${f1(rt.value)} (${f1(rt.extra?.p99 as number)})` : '—', '', '', '', '', '', undefined, rt?.load);
  const hrt = g(L, 'hostRoundTripUs');
  add('limit: plugin-host round trip µs p50 (p99)', hrt ? `${f1(hrt.value)} (${f1(hrt.extra?.p99 as number)})` : '—', '', '', '', '', hrt ? `${f1(hrt.extra?.parentCpuUs as number)} µs server CPU` : '', undefined, hrt?.load);
  add('limit: bare Hono + 1 SQLite read req/s', f1(hono?.value), '', '', '', '', '', undefined, hono?.load);

  const head = ['figure', 'engine', 'limit', '×limit', 'BullMQ', 'our/peer', 'target', 'met', 'load1'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  const notes: string[] = [];
  for (const [k, v] of Object.entries(r)) if (v?.error) notes.push(`${k}: ERROR ${v.error}`);
  for (const [k, v] of Object.entries(r)) if (v?.skipped) notes.push(`${k}: ${v.skipped}`);
  if (P?.peer) notes.push(`peer: ${P.peer}`);
  return [
    `Stella Orchestrator benchmark — ${machine.nproc} CPUs, ${machine.memGiB} GiB, load ${machine.loadavg.join(' ')}; durability on (WAL, synchronous=NORMAL); medians`,
    line(head),
    line(w.map((n) => '-'.repeat(n))),
    ...rows.map(line),
    ...notes,
  ].join('\n');
}
