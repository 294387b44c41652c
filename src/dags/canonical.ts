/**
 * The content of a DAG version and its hash. The content is the document as sent, without
 * `signature` and with no defaults filled in; its hash is the SHA-256 of its RFC 8785 canonical
 * JSON (CONTRACT §1, §5). Two publications are "the same definition" when their hashes match.
 */
import { canonicalJson, sha256Hex } from '../core/hash.js';
import type { DagContent, DagDocument } from './model.js';

/**
 * The document without `signature` (a shallow copy; nothing else changes).
 *
 * @example
 * dagContent({ dagId: 'a', version: '1.0.0', steps: [], signature: env }) // { dagId: 'a', version: '1.0.0', steps: [] }
 */
export function dagContent(doc: DagDocument | DagContent): DagContent {
  const { signature: _signature, ...content } = doc as DagDocument;
  return content;
}

/**
 * RFC 8785 canonical JSON of the content: the exact bytes a DSSE signature covers.
 *
 * @example
 * dagCanonicalJson(doc) // '{"dagId":"hello","steps":[…],"version":"1.0.0"}'
 */
export function dagCanonicalJson(doc: DagDocument | DagContent): string {
  return canonicalJson(dagContent(doc));
}

/**
 * SHA-256 (64 lowercase hex) of the canonical content: the DAG version's `hash`.
 *
 * @example
 * dagHash(doc) // 'e3b0c442…'
 */
export function dagHash(doc: DagDocument | DagContent): string {
  return sha256Hex(dagCanonicalJson(doc));
}
