/**
 * Per-tenant token buckets for the route table's `rateLimit` policies (CONTRACT §2, 429
 * `RATE_LIMITED`). A bucket holds `burst` tokens and refills at `ratePerSec`; a request takes
 * one token. A decision says what the bucket holds (limit, remaining, seconds until full, and on
 * refusal seconds until one token is back); `http/` turns it into the `X-RateLimit-*` and
 * `Retry-After` headers (src/http/rate-limit.ts).
 *
 * Memory is bounded: at most `maxBuckets` buckets; a full bucket is the same as no bucket, so
 * full ones are dropped first, then the least recently used.
 *
 * @example
 * const limiter = new TokenBucketLimiter({ runs: { ratePerSec: 50, burst: 100 } });
 * limiter.take('runs', 'demo'); // { allowed: true, limit: 100, ratePerSecond: 50, remaining: 99, resetSeconds: 1 }
 */
import { performance } from 'node:perf_hooks';
import type { RateLimitDecision, RateLimiter, RateLimitPolicy } from './types.js';

export interface BucketPolicy {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Bucket capacity (default 2 × rate). */
  burst?: number;
}

export interface LimiterOptions {
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
  maxBuckets?: number;
  /** Called for each refused request (metrics). */
  onRefused?: (policy: RateLimitPolicy) => void;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBucketLimiter implements RateLimiter {
  private readonly policies: Map<string, Required<BucketPolicy>>;
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly maxBuckets: number;
  private readonly onRefused?: (policy: RateLimitPolicy) => void;

  constructor(policies: Partial<Record<RateLimitPolicy, BucketPolicy>>, opts: LimiterOptions = {}) {
    this.policies = new Map(
      Object.entries(policies).map(([name, p]) => {
        if (!(p.ratePerSec > 0)) throw new Error(`rate limit ${name}: ratePerSec must be > 0`);
        const burst = p.burst ?? 2 * p.ratePerSec;
        if (!(burst >= 1)) throw new Error(`rate limit ${name}: burst must be >= 1`);
        return [name, { ratePerSec: p.ratePerSec, burst }];
      }),
    );
    this.now = opts.now ?? (() => performance.now());
    this.maxBuckets = opts.maxBuckets ?? 10_000;
    this.onRefused = opts.onRefused;
  }

  policy(name: RateLimitPolicy): Required<BucketPolicy> | undefined {
    return this.policies.get(name);
  }

  take(name: RateLimitPolicy, tenant: string): RateLimitDecision {
    const p = this.policies.get(name);
    if (!p) throw new Error(`no rate-limit policy '${name}' is configured`);
    const key = `${name}\u0000${tenant}`;
    const now = this.now();
    const prior = this.buckets.get(key);
    let tokens = prior ? Math.min(p.burst, prior.tokens + ((now - prior.at) / 1000) * p.ratePerSec) : p.burst;
    const allowed = tokens >= 1;
    if (allowed) tokens -= 1;
    if (prior) this.buckets.delete(key); // re-insert: Map order is least recently used first
    this.buckets.set(key, { tokens, at: now });
    if (this.buckets.size > this.maxBuckets) this.evict(now);

    const decision: RateLimitDecision = {
      allowed,
      limit: p.burst,
      ratePerSecond: p.ratePerSec,
      remaining: Math.floor(tokens),
      resetSeconds: Math.ceil(round((p.burst - tokens) / p.ratePerSec)),
    };
    if (allowed) return decision;
    this.onRefused?.(name);
    decision.retryAfterSeconds = Math.max(1, Math.ceil(round((1 - tokens) / p.ratePerSec)));
    return decision;
  }

  /** Buckets held (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private evict(now: number): void {
    for (const [key, b] of this.buckets) {
      const p = this.policies.get(key.slice(0, key.indexOf('\u0000')))!;
      if (b.tokens + ((now - b.at) / 1000) * p.ratePerSec >= p.burst) this.buckets.delete(key);
    }
    // Leave headroom so a full table does not sweep on every new tenant.
    const target = Math.floor(this.maxBuckets * 0.9);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= target) break;
      this.buckets.delete(key);
    }
  }
}

/** Rounds away float noise (0.30000000000000004 s must not become a 1 s wait). */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
