/**
 * The settings of an installation on PostgreSQL (docs/SCALE-OUT.md, "Running several nodes"):
 * `--store`, `--artifacts-dir`, `--node-id`, and the scheduler's node from `--lease-timeout`.
 * Part of `serveConfig` (config.ts).
 *
 * @example
 * const node = ports.kind === 'postgres' ? schedulerNode(config) : undefined;
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { SchedulerNode } from '../engine/index.js';
import { UsageError, type Flags } from './args.js';
import type { ServeConfig } from './config.js';
import { postgresUrl } from './pg-url.js';

/** `--store` and `--artifacts-dir`, checked against the data and work folders. */
export function storeFlags(flags: Flags, dataDir: string, workDir: string, within: (parent: string, child: string) => boolean): { store?: string; artifactsDir: string } {
  const store = flags.store === undefined || flags.store === '' ? undefined : postgresUrl(flags.store, 'store');
  if (flags['artifacts-dir'] !== undefined && store === undefined) {
    throw new UsageError('--artifacts-dir needs --store: on SQLite the artifacts live in --data-dir, backed up with it');
  }
  const artifactsDir = resolve(flags['artifacts-dir'] !== undefined ? String(flags['artifacts-dir']) : join(dataDir, 'artifacts'));
  if (within(artifactsDir, workDir) || within(workDir, artifactsDir)) {
    throw new UsageError('--work-dir must be outside --artifacts-dir (and not contain it): plugin hosts may not reach the artifact store');
  }
  return { store, artifactsDir };
}

/** This server as one node of several on a PostgreSQL store (the scheduler's `node`; none on SQLite): a heartbeat every third of the lease. */
export function schedulerNode(c: ServeConfig): SchedulerNode {
  return { id: c.nodeId, leaseMs: c.leaseTimeoutMs, heartbeatMs: Math.max(1, Math.floor(c.leaseTimeoutMs / 3)) };
}

/** `--node-id`, or hostname, pid and a random part (two containers may share a hostname and a pid). */
export function nodeIdFlag(flag: unknown): string {
  if (flag === undefined) return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  if (!/^[\x21-\x7e]{1,200}$/.test(String(flag))) throw new UsageError('--node-id must be 1 to 200 printable characters without spaces');
  return String(flag);
}

