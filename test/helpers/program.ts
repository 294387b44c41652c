/**
 * How tests start the program as a child process: `[node, main.cjs]` from the test bundle
 * (scripts/test-bundle.mjs: the project's esbuild options, built once per source content and
 * shared by every test file), or `[node, --import, tsx, src/main.ts]` when
 * `TEST_CLI_FROM_SOURCE=1` (to check the source path, or to debug with source lines).
 *
 * @example spawn(process.execPath, [...PROGRAM_ARGS, 'version'])
 */
import { join, relative, resolve } from 'node:path';
import { testBundle } from '../../scripts/test-bundle.mjs';

const ROOT = join(import.meta.dirname, '..', '..');

/** True when the children run from source with tsx (`TEST_CLI_FROM_SOURCE=1`). */
export const FROM_SOURCE = process.env.TEST_CLI_FROM_SOURCE === '1';

/** Node's arguments before the program's own (tsx by absolute URL, so that it also runs from folders outside the checkout). */
export const PROGRAM_ARGS: string[] = FROM_SOURCE ? ['--import', import.meta.resolve('tsx'), join(ROOT, 'src', 'main.ts')] : [join(await testBundle(), 'main.cjs')];

/** The program's whole command line: `process.execPath` and {@link PROGRAM_ARGS}. */
export const PROGRAM: string[] = [process.execPath, ...PROGRAM_ARGS];

/**
 * Node's arguments that run `file`, a TypeScript entry point of test/ (a test's own child
 * process): its build among the bundled test files when the runner made them
 * (`STELLA_TEST_FILES`, scripts/test-files.mjs: no tsx compiling src/ in the child), else the
 * source through tsx.
 *
 * @example spawn(process.execPath, [...tsEntry('test/lifecycle/child-lifecycle.ts'), dataDir])
 */
export function tsEntry(file: string): string[] {
  const built = process.env.STELLA_TEST_FILES;
  return built ? ['--enable-source-maps', join(built, relative(ROOT, resolve(ROOT, file)).replace(/\.ts$/, '.mjs'))] : ['--import', 'tsx', file];
}
