/**
 * An outside tool a check needs (promtool, systemd-analyze). In CI (`CI=1`: .ci/run installs
 * them) a missing tool fails the test; elsewhere the test is skipped, visibly, naming the
 * Debian package to install.
 *
 * @example if (!haveTool(ctx, 'promtool', 'prometheus')) return;
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export function haveTool(ctx: TestContext, command: string, debianPackage: string): boolean {
  const r = spawnSync(command, ['--version'], { encoding: 'utf8' });
  if (!r.error && r.status === 0) return true;
  assert.ok(!process.env.CI, `${command} is not on PATH in CI: .ci/run installs Debian package "${debianPackage}"`);
  ctx.skip(`${command} not on PATH: install Debian package "${debianPackage}" (.ci/run does) to run this check`);
  return false;
}
