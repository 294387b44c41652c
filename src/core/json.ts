import { ApiError } from './errors.js';

/**
 * JSON nesting depth the API accepts (the contract's limit, like its body sizes' defaults; a
 * fixed limit of the protocol, not a setting: deeper documents are refused with 400).
 */
export const MAX_JSON_DEPTH = 64;

/** Depth of nesting of a parsed JSON value, iterative so deep input cannot overflow the stack. */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
    }
  }
  return false;
}

/**
 * Parses JSON text with a depth bound checked on the raw text first (so a 10⁶-deep document
 * is refused before `JSON.parse` builds it).
 */
export function parseJsonBounded(text: string, maxDepth: number): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > maxDepth) {
        throw new ApiError('VALIDATION_FAILED', `JSON nesting deeper than ${maxDepth}`, {
          field: 'body',
        });
      }
    } else if (c === 125 || c === 93) depth--;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('VALIDATION_FAILED', 'malformed JSON body', { field: 'body' });
  }
  // `__proto__` keys are refused everywhere (prototype pollution, and zod would drop them
  // silently, changing signed content). A text without the word (or escapes) cannot hold one.
  if ((text.includes('__proto__') || text.includes('\\u')) && hasProtoKey(value)) {
    throw new ApiError('VALIDATION_FAILED', '"__proto__" is not an allowed key', { field: 'body' });
  }
  // Strings must be well-formed Unicode (I-JSON, RFC 7493 §2.1): canonical JSON (RFC 8785),
  // and so every hash, refuses a lone surrogate. Valid UTF-8 cannot encode one, so only a
  // `\uD800`-style escape can: a text without escapes needs no walk.
  if (text.includes('\\u')) {
    const bad = illFormedString(value);
    if (bad !== undefined) {
      const field = ['body', ...bad].join('.').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD');
      throw new ApiError('VALIDATION_FAILED', `${field}: not well-formed Unicode (lone surrogate)`, { field });
    }
  }
  return value;
}

function hasProtoKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (!Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, '__proto__')) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push(child);
  }
  return false;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path of the first key or string value holding a lone surrogate, or undefined. */
function illFormedString(value: unknown): string[] | undefined {
  const stack: Array<[unknown, string[]]> = [[value, []]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return path;
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    for (const [k, child] of Object.entries(v)) {
      const p = [...path, k];
      if (LONE_SURROGATE.test(k)) return p;
      stack.push([child, p]);
    }
  }
  return undefined;
}
