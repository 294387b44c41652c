/**
 * The disk floor (CONTRACT §12): every request that writes (any method but GET) is refused with
 * 507 `INSUFFICIENT_STORAGE` while the data folder's file system has less free space than
 * `--disk-min-free`, before SQLite or the artifact store hit the wall; reads keep working.
 * Routes that free space (`freesSpace`: retention, collection) stay open. Applied once by the
 * pipeline to every route, right after authentication, tenant, scope and rate limit.
 *
 * @example
 * checkDiskFloor(deps, route); // throws ApiError('INSUFFICIENT_STORAGE') below the floor
 */
import { ApiError } from '../../core/index.js';
import type { AppDeps } from '../deps.js';
import { isMutating, type RouteDef } from '../route.js';

/** Free space below the floor, or null (implemented by src/lifecycle/disk.ts). */
export interface DiskFloor {
  belowFloor(): { freeBytes: number; minFreeBytes: number } | null;
}

declare module '../deps.js' {
  interface Services {
    /** Absent: no floor (tests of other parts, embedded uses). */
    disk?: DiskFloor;
  }
}

export function checkDiskFloor(deps: AppDeps, route: RouteDef): void {
  if (!isMutating(route) || route.freesSpace) return;
  const low = deps.services.disk?.belowFloor();
  if (low) {
    throw new ApiError(
      'INSUFFICIENT_STORAGE',
      `the data folder's disk has ${Math.floor(low.freeBytes / 1048576)} MiB free, below --disk-min-free (${Math.floor(low.minFreeBytes / 1048576)} MiB): writes are refused until space is freed (docs/OPERATIONS.md)`,
      low,
    );
  }
}
