/**
 * Opaque keyset page tokens (CONTRACT §4), bound by HMAC to the tenant, the list and the
 * filters that produced them. A token is `base64url(json).base64url(hmac)`.
 *
 * @example
 * const tokens = new PageTokens(key);
 * const t = tokens.encode('runs', tenant, filters, { s: 17, id: 'abc' });
 * tokens.decode('runs', tenant, filters, t); // { s: 17, id: 'abc' }
 */
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError, canonicalJson } from '../core/index.js';
import { JsonParts } from './json-parts.js';

export interface Page<T> {
  items: T[];
  next_page_token?: string;
}

/** What names the next page: the list, its tenant and filters, and the last row's position. */
export interface NextPage<R> {
  list: string;
  tenant: string;
  filters: object;
  position: (last: R) => unknown;
}

const ITEMS_OPEN = Buffer.from('{"items":[');
const COMMA = Buffer.from(',');

/** Tokens remembered by what they sign ({@link PageTokens.encode}). */
const ISSUED_KEPT = 1024;

export class PageTokens {
  /** The HMAC key, imported once (not per token). */
  private readonly key: KeyObject;
  /**
   * The tokens made lately, by the text their HMAC signs: the same page asked again (the first
   * page of a list, polled) names the same next page, and its HMAC was 9 % of the page's main
   * thread (issue #20). Bounded, oldest out first.
   */
  private readonly issued = new Map<string, string>();

  constructor(key: Buffer) {
    this.key = createSecretKey(key);
  }

  /** Loads the HMAC key from the data folder, creating it once. */
  static fromDataDir(dataDir: string): PageTokens {
    const path = join(dataDir, 'keys', 'page-token.key');
    if (!existsSync(path)) {
      mkdirSync(join(dataDir, 'keys'), { recursive: true });
      writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    }
    return new PageTokens(Buffer.from(readFileSync(path, 'utf8').trim(), 'hex'));
  }

  /** What a token's HMAC signs: the list, its tenant and filters, and the position (`body`). */
  private signed(list: string, tenant: string, filters: object, body: string): string {
    return `${list}\n${tenant}\n${canonicalJson(filters)}\n${body}`;
  }

  private mac(signed: string): Buffer {
    return createHmac('sha256', this.key).update(signed).digest();
  }

  encode(list: string, tenant: string, filters: object, position: unknown): string {
    const body = Buffer.from(JSON.stringify(position)).toString('base64url');
    const signed = this.signed(list, tenant, filters, body);
    let token = this.issued.get(signed);
    if (token === undefined) {
      token = `${body}.${this.mac(signed).toString('base64url')}`;
      if (this.issued.size >= ISSUED_KEPT) this.issued.delete(this.issued.keys().next().value!);
      this.issued.set(signed, token);
    }
    return token;
  }

  decode<T>(list: string, tenant: string, filters: object, token: string): T {
    const bad = () => new ApiError('INVALID_PAGE_TOKEN', 'page_token is not valid for this request');
    const [body, sig, extra] = token.split('.');
    if (!body || !sig || extra !== undefined) throw bad();
    const want = this.mac(this.signed(list, tenant, filters, body));
    const got = Buffer.from(sig, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) throw bad();
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    } catch {
      throw bad();
    }
  }

  /**
   * Builds a page from `limit + 1` fetched rows: the extra row only proves there is a next
   * page, so a last page that is exactly full carries no token.
   */
  page<R, T>(
    rows: R[],
    limit: number,
    view: (r: R) => T,
    next: NextPage<R>,
  ): Page<T> {
    const items = rows.slice(0, limit);
    const out: Page<T> = { items: items.map(view) };
    const token = this.nextToken(rows, limit, next);
    if (token !== undefined) out.next_page_token = token;
    return out;
  }

  /**
   * {@link page} with items already serialized (UTF-8 JSON): the bytes of the JSON text
   * `JSON.stringify(page(…))` gives, as parts (the items not copied: json-parts.ts). A row whose
   * `json` is undefined has no item but still counts for the page's extent.
   */
  pageJson<R>(rows: R[], limit: number, json: (r: R) => Uint8Array | undefined, next: NextPage<R>): JsonParts {
    const parts: Uint8Array[] = [ITEMS_OPEN];
    for (let i = 0; i < rows.length && i < limit; i++) {
      const item = json(rows[i]!);
      if (item === undefined) continue;
      if (parts.length > 1) parts.push(COMMA);
      parts.push(item);
    }
    const token = this.nextToken(rows, limit, next);
    parts.push(Buffer.from(`]${token === undefined ? '' : `,"next_page_token":${JSON.stringify(token)}`}}`));
    return JsonParts.of(parts);
  }

  /** The token of the page after `limit` rows, when `limit + 1` were fetched (else none). */
  private nextToken<R>(rows: R[], limit: number, next: NextPage<R>): string | undefined {
    return rows.length > limit ? this.encode(next.list, next.tenant, next.filters, next.position(rows[limit - 1]!)) : undefined;
  }
}
