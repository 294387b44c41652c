/**
 * `orchestrator artifacts get HASH [-o FILE]`: an artifact's exact bytes, streamed (constant
 * memory) and checked against their SHA-256 on the way: the hash names the content, so bytes
 * that do not match it are an error (exit 1), never a silently wrong file. With `-o FILE` the
 * bytes go to `FILE.part` first and are renamed only once verified; without it they go to
 * stdout (`-o -` too).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { UsageError } from '../args.js';
import { EXIT } from '../commands.js';
import { args, clientCommand } from './command.js';

const HASH_ARG = /^(sha256:)?[0-9a-f]{64}$/;

export const artifactsGet = clientCommand({
  name: 'artifacts get',
  summary: "Download an artifact your tenant owns; its bytes are checked against the hash.",
  args: 'HASH',
  examples: ['orchestrator artifacts get $HASH -o report.md', 'orchestrator artifacts get sha256:$HASH > report.md'],
  flags: [{ name: 'out', short: 'o', kind: 'string', env: false, arg: 'FILE', help: 'write to FILE (default stdout)' }],
  async run(ctx, positional) {
    const [raw] = args(positional, 1, 1, 'artifacts get HASH [-o FILE]');
    if (!HASH_ARG.test(raw!)) throw new UsageError('HASH must be 64 lowercase hex characters, optionally prefixed sha256:');
    const hash = raw!.replace(/^sha256:/, '');
    const res = await ctx.api.send('GET', `/artifacts/${hash}`);
    const file = ctx.flags.out as string | undefined;
    const toStdout = file === undefined || file === '-';
    const part = `${file}.part`;
    const digest = createHash('sha256');
    const tee = new Transform({
      transform(chunk: Buffer, _enc, done) {
        digest.update(chunk);
        done(null, chunk);
      },
    });
    const sink = toStdout ? ctx.out.stdout : createWriteStream(part, { mode: 0o644 });
    try {
      await pipeline(Readable.fromWeb(res.body! as WebReadableStream<Uint8Array>), tee, sink, { end: !toStdout });
    } catch (e) {
      if (!toStdout) rmSync(part, { force: true });
      throw e;
    }
    const got = digest.digest('hex');
    if (got !== hash) {
      if (!toStdout) rmSync(part, { force: true });
      ctx.out.stderr.write(`orchestrator artifacts get: the bytes received hash to ${got}, not ${hash}\n`);
      return EXIT.FAILED;
    }
    if (!toStdout) {
      renameSync(part, file!);
      ctx.out.note(`${file}: ${res.headers.get('content-length') ?? '?'} bytes, ${res.headers.get('content-type') ?? 'unknown type'}`);
    }
    return EXIT.OK;
  },
});
