import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiskWatermarks, parseThreshold } from './disk.js';

test("health reads the disk now; the write path's floor check may reuse a reading up to cacheMs old", () => {
  let free = 2048 * 1024;
  const disk = new DiskWatermarks(['/data'], { warnFree: parseThreshold('10%'), minFree: parseThreshold('1KiB'), cacheMs: 60_000, statfs: () => ({ free, total: 2048 * 1024 }) });
  assert.equal(disk.belowFloor(), null);
  assert.equal(disk.check().status, 'ok');
  free = 64 * 1024; // the file system fills up (another process, a step's artifact)
  assert.equal(disk.belowFloor(), null, 'the floor check reuses its recent reading');
  const c = disk.check();
  assert.equal(c.status, 'degraded', 'health sees the full disk at once');
  assert.match(c.detail ?? '', /below --disk-warn-free/);
  free = 512;
  assert.match(disk.check().detail ?? '', /below --disk-min-free .*writes are refused/);
  assert.deepEqual(disk.belowFloor(), { freeBytes: 512, minFreeBytes: 1024 }, "health's new reading is the floor check's from then on");
});
