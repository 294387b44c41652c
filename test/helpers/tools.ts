/**
 * What a check needs from the machine (an outside tool, a tmpfs mount, GNU tar). In CI
 * (`CI=1`: .ci/run provides all of it) a missing piece fails the test; elsewhere the test is
 * skipped, visibly, saying what is missing.
 *
 * @example if (!haveTool(ctx, 'promtool', 'prometheus')) return;
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export function haveTool(ctx: TestContext, command: string, debianPackage: string): boolean {
  const r = spawnSync(command, ['--version'], { encoding: 'utf8' });
  if (!r.error && r.status === 0) return true;
  skipOutsideCi(ctx, `${command} not on PATH: install Debian package "${debianPackage}" (.ci/run does) to run this check`);
  return false;
}

/**
 * Skips the test with `why`, except in CI, where it fails: a check CI cannot run is a failure, never a silent skip.
 *
 * @example if (skip) return skipOutsideCi(ctx, `cannot mount a tmpfs here (${skip})`);
 */
export function skipOutsideCi(ctx: TestContext, why: string): void {
  assert.ok(!process.env.CI, `in CI this check must run: ${why}`);
  ctx.skip(why);
}
