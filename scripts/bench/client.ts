/**
 * Client-measured figures: the 40-step chain and root → 100 → sink as a user sees them. The
 * server is its own process (the built executable when there is one, else from source); this
 * process is the client: from sending `POST /runs` to reading the run's `run.completed` line on
 * the NDJSON stream (`GET /runs/stream`, opened once before the runs, unfiltered). Per step: the
 * gaps between reading one chain step's `step.updated running` line and the next one's.
 * `noop` steps are completed by the scheduler itself; the same two shapes of `echo` steps (the
 * no-op that runs code, in a plugin host) are measured beside them: what a real plugin step costs.
 *
 * BullMQ alternates with it, run by run: redis-server and the BullMQ worker each in their own
 * process, this process the client — from `FlowProducer.add` (chain) or `Queue.add` of the root
 * (fan-out) to the top job's `completed` event read with `QueueEvents`.
 *
 *   npx tsx scripts/bench/client.ts [--reps 7] [--warmup 40] [--bin dist/orchestrator]… [--source] [--no-peer] [--only sustained]
 *
 * Several `--bin` (and `--source`) are measured alternately in the same command: before/after
 * figures of two builds. Each figure carries the 1-minute load when it was taken; the
 * per-sample loads are in `extra.loads`. `--only sustained`: the sustained figure alone, one
 * warm-up pass and `--reps` measured passes of each server (instead of 3), each pass's main-thread
 * CPU per step in `sustainedCpuPerStep.mainUsSamples` — for before/after figures of a change.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { chainFlow, QUEUE, startRedis, timeUntil } from './bullmq.js';
import { oursSustained, peerSustained, SUSTAINED_STEPS } from './client-sustained.js';
import { BINARY, chainDag, emit, eventStream, fanDag, fig, load1, median, now, quantile, ROOT, round, rssMb, sleep, startChildServer, treeCpuMs, type ChildServer } from './lib.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '7' },
    bin: { type: 'string', multiple: true },
    source: { type: 'boolean', default: false },
    'no-peer': { type: 'boolean', default: false },
    warmup: { type: 'string', default: '40' },
    only: { type: 'string' },
  },
});
if (values.only !== undefined && values.only !== 'sustained') throw new Error(`--only: only 'sustained' is known, not '${values.only}'`);
/** `--only sustained`: no chain or fan-out runs, `--reps` sustained passes. */
const SUSTAINED_ONLY = values.only === 'sustained';
const REPS = Number(values.reps);
/**
 * Warm-up runs of each shape before measuring, for us and for the peer alike: a server that has
 * been up for a while runs optimised code (V8 optimises a function after a few thousand calls);
 * one warm-up run left most of the engine in the interpreter and baseline tiers and measured the
 * JIT, not the design (40 runs: chain 69–96 ms cold vs 34–48 ms warm, load 4).
 */
const WARMUP = Number(values.warmup);

/** One server under test and what its stream told us. */
interface Target {
  name: string;
  server: ChildServer;
  dataDir: string;
  stop: AbortController;
  ended: Map<string, { at: number; type: string }>;
  waiters: Map<string, () => void>;
  /** Read times of `step.updated running` lines, per run. */
  running: Map<string, number[]>;
  rssIdleMb: number;
  /** One sustained measurement (steps/s; client-sustained.ts). */
  sustained: Awaited<ReturnType<typeof oursSustained>>;
}

const bins = values.bin ?? (existsSync(BINARY) && !values.source ? [BINARY] : []);
const specs: Array<{ name: string; mode: 'binary' | 'source'; bin?: string }> = [
  ...bins.map((b) => ({ name: relative(ROOT, b).startsWith('..') ? b : relative(ROOT, b), mode: 'binary' as const, bin: b })),
  ...(values.source || bins.length === 0 ? [{ name: 'source (tsx)', mode: 'source' as const }] : []),
];

async function startTarget(spec: (typeof specs)[number]): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'orch-bench-client-'));
  const server = await startChildServer(dataDir, ['--rate-limit', '1000000'], spec.mode, spec.bin);
  await sleep(1000);
  const rssIdleMb = rssMb(server.proc.pid);
  for (const dag of [chainDag(40), fanDag('fan100', 100), chainDag(40, 'echo'), fanDag('fan100-echo', 100, 'echo')]) {
    const r = await server.req('POST', '/dags', dag);
    if (r.status !== 201) throw new Error(`publish ${dag.dagId}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const sustained = await oursSustained(server, dataDir, spec.mode, spec.bin);
  const t: Target = { name: spec.name, server, dataDir, stop: new AbortController(), ended: new Map(), waiters: new Map(), running: new Map(), rssIdleMb, sustained };
  t.stop = await eventStream(server, '', (e, at) => {
    if (e.type === 'step.updated' && e.status === 'running') {
      let l = t.running.get(e.runId);
      if (!l) t.running.set(e.runId, (l = []));
      l.push(at);
    } else if (e.type === 'run.completed' || e.type === 'run.failed' || e.type === 'run.cancelled') {
      t.ended.set(e.runId, { at, type: e.type });
      t.waiters.get(e.runId)?.();
    }
  });
  return t;
}

/**
 * Where a client's wait goes outside the step hops (ms): `post` = POST /runs sent → its answer
 * read; `first` = answer read → the first `step.updated running` line read (negative when the
 * stream's line was read first); `last` = the last `running` line read → `run.completed` read.
 */
interface Edges { post: number; first: number; last: number }

/** POST /runs → its run.completed line read; the run's step hops as read from the stream. */
async function ours(t: Target, dagId: string): Promise<{ ms: number; hops: number[]; edges: Edges }> {
  const t0 = now();
  const r = await t.server.req('POST', '/runs', { dagId });
  const answered = now();
  if (r.status !== 201) throw new Error(`POST /runs ${dagId}: ${r.status} ${JSON.stringify(r.body)}`);
  const runId = r.body.runId as string;
  if (!t.ended.has(runId)) await new Promise<void>((resolve) => t.waiters.set(runId, resolve));
  t.waiters.delete(runId);
  const end = t.ended.get(runId)!;
  if (end.type !== 'run.completed') throw new Error(`${dagId} run ${runId}: ${end.type}`);
  const l = t.running.get(runId) ?? [];
  t.running.delete(runId);
  const edges = { post: answered - t0, first: (l[0] ?? NaN) - answered, last: end.at - (l.at(-1) ?? NaN) };
  return { ms: end.at - t0, hops: l.slice(1).map((at, i) => at - l[i]!), edges };
}

const targets: Target[] = [];
for (const s of specs) targets.push(await startTarget(s));

// ---- the peer: redis-server, the BullMQ worker (own process), this process the client ----
const redis = values['no-peer'] ? null : await startRedis();
let peer: { chain: () => Promise<number>; fan: () => Promise<number>; sustained: () => Promise<number>; close: () => Promise<void>; name: string } | null = null;
if (redis) {
  const worker = spawn(process.execPath, ['--import', 'tsx', join('scripts', 'bench', 'bullmq-worker.ts'), String(redis.port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    worker.stdout!.setEncoding('utf8').on('data', (c: string) => ((out += c), out.includes('ready') && resolve()));
    worker.once('exit', (code) => reject(new Error(`bullmq-worker exited ${code}`)));
  });
  const { FlowProducer, Queue, QueueEvents } = await import('bullmq');
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const queue = new Queue(QUEUE, { connection });
  const flows = new FlowProducer({ connection });
  const events = new QueueEvents(QUEUE, { connection });
  await events.waitUntilReady();
  const waiting = new Map<string, () => void>();
  events.on('completed', ({ jobId }) => waiting.get(jobId)?.());
  const doneOf = (id: string) => new Promise<void>((resolve) => waiting.set(id, () => (waiting.delete(id), resolve())));
  let seq = 0;
  peer = {
    name: `BullMQ ${(await import('bullmq/package.json', { with: { type: 'json' } })).default.version} on ${redis.version}`,
    chain() {
      const id = `c${seq++}`;
      return timeUntil(doneOf(id), () => flows.add(chainFlow(id)));
    },
    fan() {
      const id = `f${seq++}`;
      return timeUntil(doneOf(`${id}-sink`), () => queue.add('root', {}, { jobId: id }));
    },
    sustained: peerSustained(queue, worker.stdout!),
    async close() {
      await Promise.all([events.close(), flows.close(), queue.close()]);
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
      await redis.stop();
    },
  };
}

// ---- warm-up (chain runs, a fan-out every fourth), then alternating runs ----
for (let i = 0; i < (SUSTAINED_ONLY ? 0 : Math.max(1, WARMUP)); i++) {
  for (const t of targets) {
    await ours(t, 'chain40');
    await ours(t, 'chain40-echo');
    if (i % 4 === 0) await ours(t, 'fan100');
    if (i % 4 === 0) await ours(t, 'fan100-echo');
  }
  await peer?.chain();
  if (i % 4 === 0) await peer?.fan();
}

type Samples = { ms: number[]; loads: number[]; hops: number[]; edges: Edges[] };
/** CPU per chain step by where it is spent (µs): server main thread, its other threads, plugin hosts, this client. */
const cpuPerStep = new Map(targets.map((t) => [t.name, { main: 0, threads: 0, hosts: 0, client: 0, steps: 0 }]));
async function measuredChain(t: Target): Promise<Awaited<ReturnType<typeof ours>>> {
  const a = treeCpuMs(t.server.proc.pid!), c0 = process.cpuUsage();
  const r = await ours(t, 'chain40');
  const c = process.cpuUsage(c0), b = treeCpuMs(t.server.proc.pid!), acc = cpuPerStep.get(t.name)!;
  acc.main += b.main - a.main; acc.threads += b.threads - a.threads; acc.hosts += b.children - a.children; acc.client += (c.user + c.system) / 1000; acc.steps += 40;
  return r;
}
const blank = (): Samples => ({ ms: [], loads: [], hops: [], edges: [] });
const chains = new Map(targets.map((t) => [t.name, blank()]));
const fans = new Map(targets.map((t) => [t.name, blank()]));
const echoChains = new Map(targets.map((t) => [t.name, blank()]));
const echoFans = new Map(targets.map((t) => [t.name, blank()]));
const peerChain = blank();
const peerFan = blank();
const note = (s: Samples, ms: number, hops: number[] = [], edges?: Edges) => (s.ms.push(ms), s.loads.push(load1()), s.hops.push(...hops), edges && s.edges.push(edges));
for (let i = 0; i < (SUSTAINED_ONLY ? 0 : REPS); i++) {
  for (const t of targets) {
    const r = await measuredChain(t);
    note(chains.get(t.name)!, r.ms, r.hops, r.edges);
  }
  if (peer) note(peerChain, await peer.chain());
  for (const t of targets) {
    const r = await ours(t, 'fan100');
    note(fans.get(t.name)!, r.ms, [], r.edges);
  }
  if (peer) note(peerFan, await peer.fan());
  for (const t of targets) {
    const c = await ours(t, 'chain40-echo');
    note(echoChains.get(t.name)!, c.ms, c.hops, c.edges);
    const f = await ours(t, 'fan100-echo');
    note(echoFans.get(t.name)!, f.ms, [], f.edges);
  }
}

// ---- sustained throughput: one warm-up pass each, then 3 (--only sustained: --reps) alternating measurements ----
const rates = new Map(targets.map((t) => [t.name, blank()]));
/** CPU per sustained step (µs), measured passes only: server main thread, its other threads, plugin hosts. */
const sustainedCpu = new Map(targets.map((t) => [t.name, { main: 0, threads: 0, hosts: 0, client: 0, steps: 0 }]));
/** Server main-thread CPU per step (µs) of each measured sustained pass. */
const sustainedMainUs = new Map(targets.map((t) => [t.name, [] as number[]]));
const peerRates = blank();
for (let i = 0; i < 1 + (SUSTAINED_ONLY ? REPS : 3); i++) {
  for (const t of targets) {
    const a = treeCpuMs(t.server.proc.pid!);
    const r = await t.sustained.run();
    const b = treeCpuMs(t.server.proc.pid!), acc = sustainedCpu.get(t.name)!;
    if (i === 0) continue;
    acc.main += b.main - a.main; acc.threads += b.threads - a.threads; acc.hosts += b.children - a.children; acc.steps += SUSTAINED_STEPS;
    sustainedMainUs.get(t.name)!.push(Math.round(((b.main - a.main) * 1000) / SUSTAINED_STEPS));
    note(rates.get(t.name)!, r);
  }
  if (peer) {
    const r = await peer.sustained();
    if (i > 0) note(peerRates, r);
  }
}

const rate = (s: Samples) => fig(median(s.ms), 'steps/s', { loads: s.loads, steps: SUSTAINED_STEPS, tenants: 2 }, s.ms);
const cpuFigure = (name: string, of = cpuPerStep) => {
  const a = of.get(name)!;
  const us = (ms: number) => Math.round((ms * 1000) / Math.max(1, a.steps));
  return { serverMainUs: us(a.main), serverThreadsUs: us(a.threads), hostsUs: us(a.hosts), clientUs: us(a.client) };
};
/** Medians of the edges outside the hops (ms): what a user waits for besides the steps. */
const edgeMedians = (s: Samples) =>
  s.edges.length === 0 ? {} : { edgesMs: { post: round(median(s.edges.map((e) => e.post))), first: round(median(s.edges.map((e) => e.first))), last: round(median(s.edges.map((e) => e.last))) } };
const figure = (s: Samples, withHops: boolean) =>
  fig(median(s.ms), 'ms', { loads: s.loads, ...edgeMedians(s), ...(withHops ? { stepP50Ms: quantile(s.hops, 0.5), stepP99Ms: quantile(s.hops, 0.99) } : {}) }, s.ms);
const result = {
  targets: Object.fromEntries(
    targets.map((t) => [t.name, { chain40: figure(chains.get(t.name)!, true), fanout100: figure(fans.get(t.name)!, false), chain40Echo: figure(echoChains.get(t.name)!, true), fanout100Echo: figure(echoFans.get(t.name)!, false), sustained: rate(rates.get(t.name)!), chainCpuPerStep: cpuFigure(t.name), sustainedCpuPerStep: { ...cpuFigure(t.name, sustainedCpu), mainUsSamples: sustainedMainUs.get(t.name)! }, rssIdleMb: t.rssIdleMb, rssAfterMb: rssMb(t.server.proc.pid) }]),
  ),
  peer: peer ? { name: peer.name, chain40: figure(peerChain, false), fanout100: figure(peerFan, false), sustained: rate(peerRates) } : { skipped: values['no-peer'] ? 'skipped by --no-peer' : 'redis-server is not installed' },
  reps: REPS,
  warmup: WARMUP,
};

// A readable summary (stderr: stdout carries the one BENCH_RESULT line).
const p = result.peer as { chain40?: { value: number }; fanout100?: { value: number }; sustained?: { value: number } };
const ratio = (x: number, y: number | undefined) => (y ? `${(x / y).toFixed(2)}×` : '—');
const edgeText = (extra: Record<string, unknown> | undefined) => {
  const e = extra?.edgesMs as Edges | undefined;
  return e ? `${e.post} / ${e.first} / ${e.last}` : '—';
};
for (const [name, r] of Object.entries(result.targets)) {
  process.stderr.write(
    `${name}: chain ${r.chain40.value} ms (${ratio(r.chain40.value, p.chain40?.value)} peer ${p.chain40?.value ?? '—'}), step p50/p99 ${r.chain40.extra?.stepP50Ms}/${r.chain40.extra?.stepP99Ms} ms; ` +
      `fan-out ${r.fanout100.value} ms (${ratio(r.fanout100.value, p.fanout100?.value)} peer ${p.fanout100?.value ?? '—'}); ` +
      `sustained ${r.sustained.value} steps/s (${ratio(r.sustained.value, p.sustained?.value)} peer ${p.sustained?.value ?? '—'}); RSS idle ${r.rssIdleMb} MB; load ${load1()}\n` +
      `  echo steps (in a plugin host): chain ${r.chain40Echo.value} ms (${ratio(r.chain40Echo.value, p.chain40?.value)}), step p50/p99 ${r.chain40Echo.extra?.stepP50Ms}/${r.chain40Echo.extra?.stepP99Ms} ms; fan-out ${r.fanout100Echo.value} ms (${ratio(r.fanout100Echo.value, p.fanout100?.value)})\n` +
      `  outside the hops, medians (ms): POST sent → answer read / answer → first running line / last running → run.completed: chain ${edgeText(r.chain40.extra)}; fan-out ${edgeText(r.fanout100.extra)}\n` +
      `  chain CPU per step, µs: server main thread ${r.chainCpuPerStep.serverMainUs}, its other threads ${r.chainCpuPerStep.serverThreadsUs}, plugin hosts ${r.chainCpuPerStep.hostsUs}, client ${r.chainCpuPerStep.clientUs}\n` +
      `  sustained CPU per step, µs: server main thread ${r.sustainedCpuPerStep.serverMainUs} (passes: ${r.sustainedCpuPerStep.mainUsSamples.join(', ')}; median ${median(r.sustainedCpuPerStep.mainUsSamples)}), its other threads ${r.sustainedCpuPerStep.serverThreadsUs}, plugin hosts ${r.sustainedCpuPerStep.hostsUs}\n`,
  );
}
emit(result);

await peer?.close();
for (const t of targets) {
  t.stop.abort();
  t.sustained.close();
  await t.server.stop();
  rmSync(t.dataDir, { recursive: true, force: true });
}
