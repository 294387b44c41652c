/** The plugin sandbox's pieces (src/engine/sandbox.ts, exec-env.ts, plugin-stage.ts) on their own. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { refusedEnvReason } from '../../dags/exec-policy.js';
import { execEnvironment } from '../builtins/exec.js';
import { loadPlugins } from '../plugins/plugins.js';
import { PluginStage } from '../plugins/stage.js';
import { permissionOptions, resolveUser, unreachableReason } from './sandbox.js';
import { pluginEnvRefusal } from './plugin-env.js';
import { tempDir } from './test-support.js';

test('loader and interpreter variables are refused whatever their case; ordinary names are not', () => {
  for (const n of ['LD_PRELOAD', 'ld_library_path', 'LD_AUDIT', 'BASH_ENV', 'ENV', 'NODE_OPTIONS', 'NODE_PATH', 'PYTHONPATH', 'PYTHONSTARTUP', 'PERL5OPT', 'PERL5LIB', 'RUBYOPT', 'GCONV_PATH', 'GLIBC_TUNABLES', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'GIT_SSH_COMMAND', 'OPENSSL_CONF', 'PATH', 'IFS', 'PS4', 'BASH_FUNC_x', 'DYLD_INSERT_LIBRARIES']) {
    assert.ok(refusedEnvReason(n), `${n} is refused`);
  }
  for (const n of ['GREETING', 'BUILD_TARGET', 'LANG', 'LC_ALL', 'TZ', 'R_TOKEN', 'PHASE']) assert.equal(refusedEnvReason(n), null, n);
});

test('exec environment: a fixed base plus allowed names; anything else fails EXEC_ENV_REFUSED', () => {
  assert.deepEqual(execEnvironment({ GREETING: 'hi' }, ['GREETING'], '/w'), { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/w', TMPDIR: '/w', LANG: 'C.UTF-8', GREETING: 'hi' });
  assert.throws(() => execEnvironment({ OTHER: 'x' }, ['GREETING'], '/w'), (e: any) => e.code === 'EXEC_ENV_REFUSED' && /--exec-env-allow/.test(e.message));
  assert.throws(() => execEnvironment({ LD_PRELOAD: 'x' }, ['LD_PRELOAD'], '/w'), (e: any) => e.code === 'EXEC_ENV_REFUSED' && e.retryable === false);
  assert.throws(() => execEnvironment({ HOME: '/root' }, ['HOME'], '/w'), (e: any) => e.code === 'EXEC_ENV_REFUSED');
});

test('--plugin-env: PATH may be passed, loader variables and NODE_OPTIONS may not', () => {
  assert.equal(pluginEnvRefusal('PATH'), null);
  assert.equal(pluginEnvRefusal('DATABASE_URL'), null);
  for (const n of ['NODE_OPTIONS', 'LD_PRELOAD', 'HOME', 'TMPDIR']) assert.ok(pluginEnvRefusal(n), n);
});

test('plugin users: a name from /etc/passwd, UID[:GID], or a clear error', () => {
  assert.deepEqual(resolveUser('nobody'), { name: 'nobody', uid: 65534, gid: 65534 });
  assert.deepEqual(resolveUser('1234'), { name: '1234', uid: 1234, gid: 1234 });
  assert.deepEqual(resolveUser('1234:99'), { name: '1234:99', uid: 1234, gid: 99 });
  assert.throws(() => resolveUser('no-such-user-here'), /not found/);
});

test('permission flags: the listed reads, the work folder as the only write, child processes only when asked', () => {
  const o = permissionOptions({ readPaths: ['/opt/a b', '/srv/p'], workDir: '/w/h1', childProcess: false, network: false });
  assert.match(o, /^--experimental-permission /);
  for (const f of ['--allow-fs-read="/opt/a b"', '--allow-fs-read="/srv/p"', '--allow-fs-read="/w/h1"', '--allow-fs-write="/w/h1"', '--allow-worker']) assert.ok(o.includes(f), f);
  assert.ok(!o.includes('--allow-child-process'));
  assert.equal(o.match(/--allow-fs-write/g)!.length, 1);
  assert.ok(permissionOptions({ readPaths: [], workDir: '/w', childProcess: true, network: false }).includes('--allow-child-process'));
  assert.throws(() => permissionOptions({ readPaths: ['/x"y'], workDir: '/w', childProcess: false, network: false }), /cannot be passed/);
});

test('reachability for the plugin user names the folder that blocks', { skip: process.getuid?.() !== 0 && 'needs root (folders owned by another user)' }, () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'f'), 'x');
  chmodSync(dir, 0o700);
  const nobody = resolveUser('nobody');
  assert.match(unreachableReason(join(dir, 'f'), nobody, 'r') ?? '', new RegExp(`${dir} \\(mode 0700.*not traversable by user nobody`));
  chmodSync(dir, 0o711);
  chmodSync(join(dir, 'f'), 0o600);
  assert.match(unreachableReason(join(dir, 'f'), nobody, 'r') ?? '', /not readable/);
  chmodSync(join(dir, 'f'), 0o644);
  assert.equal(unreachableReason(join(dir, 'f'), nobody, 'r'), null);
});

test('plugin copies: read-only, symlinks inside followed, symlinks leading outside left out (and reported)', async () => {
  const src = tempDir();
  const dir = join(src, 'linky');
  mkdirSync(join(dir, 'lib'), { recursive: true });
  writeFileSync(join(dir, 'plugin.json'), JSON.stringify({ name: 'linky', version: '1.0.0', entry: 'index.mjs' }));
  writeFileSync(join(dir, 'index.mjs'), 'export default async () => ({});\n');
  writeFileSync(join(dir, 'lib', 'real.mjs'), 'export const x = 1;\n');
  symlinkSync(join(dir, 'lib', 'real.mjs'), join(dir, 'alias.mjs'));
  symlinkSync('/etc/passwd', join(dir, 'passwd'));
  symlinkSync(dir, join(dir, 'lib', 'loop'));
  const plugin = loadPlugins([src]).resolve('linky')!;
  const warned: string[] = [];
  const stage = new PluginStage(join(tempDir(), 'stage'), (m) => void warned.push(m));
  const s = await stage.prepare(plugin)!;
  assert.deepEqual(readdirSync(s.dir).sort(), ['alias.mjs', 'index.mjs', 'lib', 'plugin.json']);
  assert.equal(readFileSync(join(s.dir, 'alias.mjs'), 'utf8'), 'export const x = 1;\n');
  assert.equal(statSync(join(s.dir, 'alias.mjs')).isSymbolicLink(), false);
  assert.equal(statSync(join(s.dir, 'index.mjs')).mode & 0o777, 0o444);
  assert.equal(existsSync(join(s.dir, 'passwd')), false);
  assert.ok(warned.some((w) => /passwd leads outside the plugin folder/.test(w)), warned.join('; '));
  assert.match(s.workerRef.builtin ? '' : s.workerRef.entryUrl, new RegExp(`^file://${s.dir}/index\\.mjs\\?h=`));
  assert.equal(await stage.prepare(plugin), s, 'once per content hash');
});
