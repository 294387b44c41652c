/**
 * The real server as a child process, for crash tests that start it dozens of times. From
 * source (`tsx`) a start takes 2-3 s on this machine; the same code bundled with esbuild (as
 * `npm run build` does, minus the single executable) starts in about 0.5 s. The bundle is the
 * test bundle shared by every test file (scripts/test-bundle.mjs); `bundle: false` falls back
 * to tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { testBundle } from '../../scripts/test-bundle.mjs';
import { BASE, send } from '../helpers/base.js';

const ROOT = join(import.meta.dirname, '..', '..');


export interface Child {
  proc: ChildProcess;
  url: string;
  token: string;
  /** Milliseconds from spawn to ready. */
  startMs: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  req(method: string, path: string, body?: unknown, tenant?: string, extraHeaders?: Record<string, string>): Promise<{ status: number; body: any; text: string; headers: Headers }>;
}

/** Starts `orchestrator serve --dev` on `dataDir` (port 0) and waits for its URL and admin token. */
export async function startChild(dataDir: string, extra: string[] = [], opts: { bundle?: boolean } = {}): Promise<Child> {
  const entry = opts.bundle === false ? ['--import', 'tsx', 'src/main.ts'] : [join(await testBundle(), 'main.cjs')];
  const t0 = Date.now();
  const proc = spawn(
    process.execPath,
    [...entry, 'serve', '--dev', '--port', '0', '--data-dir', dataDir, '--allow-unsigned', '--workers', '1', '--log-level', 'error', ...extra],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const { url, token } = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    const check = () => {
      const u = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      const tok = /export TOKEN=(\S+)/.exec(err)?.[1];
      if (u && tok) resolve({ url: u, token: tok });
    };
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => ((out += c), check()));
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => ((err += c), check()));
    void exited.then(({ code, signal }) => reject(new Error(`server exited (${code ?? signal}) before it was ready:\n${out}\n${err}`)));
    setTimeout(() => reject(new Error(`server did not start in 30 s:\n${out}\n${err}`)), 30_000).unref();
  });
  return {
    proc,
    url,
    token,
    startMs: Date.now() - t0,
    exited,
    async req(method, path, body, tenant = 'demo', extraHeaders = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'x-stella-tenant': tenant, ...extraHeaders };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await send(url + BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed as any, text, headers: res.headers };
    },
  };
}
