/**
 * `orchestrator serve` as a real child process (the esbuild bundle of test/hostile/child.ts),
 * with its JSON log lines, SIGHUP and SIGTERM at hand.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { testBundle } from '../../scripts/test-bundle.mjs';
import { until } from './wait.js';

export interface ServeChild {
  url: string;
  logs(): Array<Record<string, any>>;
  hup(): void;
  alive(): boolean;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a node that dies); resolves once it has exited. */
  kill(): Promise<void>;
}

/** Starts `orchestrator serve ARGS` (the esbuild bundle, fast to start) in `cwd` and waits until it is ready. */
export async function startServer(args: string[], cwd: string): Promise<ServeChild> {
  const main = join(await testBundle(), 'main.cjs');
  const proc = spawn(process.execPath, [main, 'serve', ...args], { cwd, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exited = false;
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => ((exited = true), resolve(code))));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
    void exit.then(() => reject(new Error(`server exited before listening:\n${out}\n${err}`)));
  });
  await until(async () => (await fetch(`${url}/api/v1/orchestrator/admin/health`)).status === 200, 'the server is ready');
  return {
    url,
    logs: () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>),
    hup: () => proc.kill('SIGHUP'),
    alive: () => !exited,
    async stop() {
      if (!exited) proc.kill('SIGTERM');
      return exit;
    },
    async kill() {
      if (!exited) proc.kill('SIGKILL');
      await exit;
    },
  };
}
