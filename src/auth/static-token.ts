/**
 * A static bearer token read from a file (`--metrics-token-file`): a credential that does not
 * expire, for a Prometheus scraper, which opens `GET /admin/metrics` and nothing else.
 *
 * The file holds the token on its first line (surrounding white space ignored): 32 to 512
 * printable ASCII characters without spaces (e.g. `openssl rand -hex 32`). Requests are compared
 * in constant time (SHA-256 of both sides, then `timingSafeEqual`), so the answer time does not
 * reveal how much of a guess was right. {@link StaticToken.reload} re-reads the file (SIGHUP); a
 * file that became unusable keeps the previous token and throws.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

const TOKEN_RE = /^[\x21-\x7e]{32,512}$/;
const AUTH_RE = /^bearer +(\S+) *$/i;

function readToken(file: string): Buffer {
  const fail = (why: string): never => {
    throw new Error(`metrics token file ${file}: ${why}`);
  };
  let text = '';
  try {
    if (statSync(file).size > 4096) fail('larger than 4096 bytes');
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('metrics token file')) throw e;
    fail(`cannot be read (${(e as { code?: string }).code ?? 'error'})`);
  }
  const token = text.trim();
  if (!TOKEN_RE.test(token)) fail('must hold one token of 32 to 512 printable characters without spaces (e.g. openssl rand -hex 32)');
  return createHash('sha256').update(token).digest();
}

export class StaticToken {
  private digest: Buffer;

  /**
   * Reads the file now; throws (a configuration error) if it is unusable.
   *
   * @example
   * const scrape = new StaticToken('/etc/orchestrator/metrics.token');
   * scrape.matches('Bearer 3f9c…') // true for the file's token, in constant time
   */
  constructor(readonly file: string) {
    this.digest = readToken(file);
  }

  /** Whether an `Authorization` header value carries this token. */
  matches(header: string | undefined): boolean {
    if (typeof header !== 'string' || header.length > 600) return false;
    const m = AUTH_RE.exec(header.trim());
    if (!m) return false;
    return timingSafeEqual(createHash('sha256').update(m[1]!).digest(), this.digest);
  }

  /** Re-reads the file; returns whether the token changed. Throws, keeping the old token, if the file is unusable. */
  reload(): boolean {
    const next = readToken(this.file);
    const changed = !timingSafeEqual(next, this.digest);
    this.digest = next;
    return changed;
  }
}
