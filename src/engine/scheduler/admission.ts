/**
 * Admission: who waits and who goes next. Queued runs wait in per-tenant FIFOs and runs with
 * ready steps in a ring of their own, both served round-robin across tenants (docs/RUNS.md,
 * "Fair shares"); the counts of running runs (per tenant, in all) and the step slots
 * ({@link StepShares}) decide which tenant may take one more. Admission moves no status: the
 * state machine (`machine.ts`) tells it what happened, the loop (`loop.ts`) asks it for the next
 * run to start and the next step to dispatch.
 *
 * @example
 * const admission = new Admission(limits);
 * admission.queueRun(run);
 * for (let r = admission.nextRun(); r; r = admission.nextRun()) machine.startRun(r);
 * for (let s = admission.nextStep(); s; s = admission.nextStep()) machine.startAttempt(s);
 */
import type { LiveRun, LiveStep } from './live.js';
import { StepShares, TenantRing } from './queues.js';

/** The scheduler's capacity settings (all of them: `cli/config.ts` builds them, with their defaults). */
export interface SchedulerLimits {
  /** Per tenant: runs executing at once. */
  maxRunningRuns: number;
  /** All tenants: runs executing at once. */
  maxRunningRunsTotal: number;
  /** Steps handed to the pool at once (all tenants): the step slots. */
  maxInFlightSteps: number;
  /** Per tenant: steps in flight at once. */
  maxStepsPerTenant: number;
  /** Slots only a tenant with nothing in flight may take; see {@link StepShares}. */
  reservedSteps: number;
  /** Timeout of a step that sets none. */
  defaultStepTimeoutMs: number;
}

export class Admission {
  /** Queued runs: per-tenant FIFO, served round-robin. */
  private readonly runQueue = new TenantRing<LiveRun>();
  /** Runs with ready steps: per-tenant FIFO, served round-robin one step at a time. */
  private readonly readyRing = new TenantRing<LiveRun>();
  private readonly runningByTenant = new Map<string, number>();
  private runningCount = 0;
  /** Steps in flight, per tenant and in all, and who may take the next slot. */
  private readonly shares: StepShares;
  /** The eligibility tests handed to the rings, made once (not one closure per pick). */
  private readonly mayStartRun: (tenant: string) => boolean;
  private readonly mayStartStep: (tenant: string) => boolean;

  constructor(limits: Pick<SchedulerLimits, 'maxRunningRuns' | 'maxRunningRunsTotal' | 'maxInFlightSteps' | 'maxStepsPerTenant' | 'reservedSteps'>) {
    const { maxRunningRuns: perTenant, maxRunningRunsTotal: total } = limits;
    const shares = new StepShares({ capacity: limits.maxInFlightSteps, perTenant: limits.maxStepsPerTenant, reserve: limits.reservedSteps });
    this.shares = shares;
    // A tenant's first running run never waits for other tenants' runs.
    this.mayStartRun = (t) => {
      const mine = this.runningByTenant.get(t) ?? 0;
      return mine < perTenant && (mine === 0 || this.runningCount < total);
    };
    this.mayStartStep = (t) => shares.mayStart(t);
  }

  /** Steps handed to the pool (or having their result recorded) right now. */
  get stepsInFlight(): number {
    return this.shares.total;
  }

  /** Runs waiting to start, all tenants. */
  get queuedTotal(): number {
    return this.runQueue.size;
  }

  /** Runs executing, all tenants. */
  get runningTotal(): number {
    return this.runningCount;
  }

  /** Runs of a tenant waiting to start. */
  queuedCount(tenant: string): number {
    return this.runQueue.sizeOf(tenant);
  }

  /** Queue depth by tenant: `'*'` lists the tenants with runs queued or running; a list gives exactly those. */
  depthByTenant(tenants: '*' | readonly string[]): Array<{ tenant: string; queued: number; running: number }> {
    const names =
      tenants === '*'
        ? [...new Set([...this.runQueue.tenants(), ...[...this.runningByTenant].filter(([, n]) => n > 0).map(([t]) => t)])]
        : [...tenants];
    return names.sort().map((tenant) => ({
      tenant,
      queued: this.runQueue.sizeOf(tenant),
      running: this.runningByTenant.get(tenant) ?? 0,
    }));
  }

  /** A queued run waits its turn behind its tenant's earlier ones. */
  queueRun(run: LiveRun): void {
    this.runQueue.push(run.tenant, run);
  }

  /** A queued run leaves the queue without starting (cancelled). */
  unqueueRun(run: LiveRun): void {
    this.runQueue.remove(run.tenant, run);
  }

  /** A run started executing (or was found executing by recovery). */
  runStarted(tenant: string): void {
    this.runningByTenant.set(tenant, (this.runningByTenant.get(tenant) ?? 0) + 1);
    this.runningCount++;
  }

  runEnded(tenant: string): void {
    this.runningByTenant.set(tenant, (this.runningByTenant.get(tenant) ?? 1) - 1);
    this.runningCount--;
  }

  /** Puts a `queued` step in its run's ready heap, and the run in its tenant's ready ring. */
  stepReady(step: LiveStep): void {
    const run = step.run;
    run.ready.push(step.def.index);
    if (!run.inReadyRing) {
      run.inReadyRing = true;
      this.readyRing.push(run.tenant, run);
    }
  }

  /** A step of the tenant took a slot. */
  slotTaken(tenant: string): void {
    this.shares.started(tenant);
  }

  slotFreed(tenant: string): void {
    this.shares.ended(tenant);
  }

  /** The next queued run allowed to start (round-robin over the tenants that may), removed from its queue. */
  nextRun(): LiveRun | undefined {
    return this.runQueue.take(this.mayStartRun)?.item;
  }

  /** The next `queued` step allowed a slot (round-robin over the tenants that may take one), or none. */
  nextStep(): LiveStep | undefined {
    for (;;) {
      const p = this.readyRing.peekNext(this.mayStartStep);
      if (!p) return undefined;
      const run = p.item;
      const idx = run.ready.pop();
      if (run.ready.size === 0) {
        this.readyRing.shift(p.tenant);
        run.inReadyRing = false;
      }
      if (idx === undefined) continue;
      const s = run.steps[idx]!;
      if (s.status === 'queued') return s;
    }
  }
}
