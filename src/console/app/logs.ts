/**
 * NDJSON as it arrives, step logs (NDJSON, one `{ts, level, msg, …fields}` object a line) parsed for display, and
 * the artifact hashes a step's outputs mention. Pure.
 *
 * @example
 * parseLog('{"ts":"…","level":"warn","msg":"slow"}\n'); // [{ ts, level: 'warn', msg: 'slow', fields: {} }]
 */
export interface LogLine {
  ts?: string;
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** Splits complete NDJSON lines off a buffer; `rest` is the unfinished last line. */
export function splitLines(buffer: string): { lines: string[]; rest: string } {
  const parts = buffer.split('\n');
  const rest = parts.pop() ?? '';
  return { lines: parts.map((l) => l.trim()).filter(Boolean), rest };
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

export function parseLog(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    try {
      const o = JSON.parse(raw) as Record<string, unknown>;
      if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new Error('not an object');
      const { ts, level, msg, ...fields } = o;
      out.push({
        ts: typeof ts === 'string' ? ts : undefined,
        level: typeof level === 'string' && LEVELS.has(level) ? level : 'info',
        msg: typeof msg === 'string' ? msg : JSON.stringify(msg ?? ''),
        fields,
      });
    } catch {
      out.push({ level: 'info', msg: raw, fields: {} });
    }
  }
  return out;
}

const HASH = /^(?:sha256:)?([0-9a-f]{64})$/;

/** Every artifact-like hash in a step's outputs, with the path of the output that names it. */
export function artifactRefs(outputs: unknown, path = 'outputs', out: { path: string; hash: string }[] = []): { path: string; hash: string }[] {
  if (typeof outputs === 'string') {
    const m = HASH.exec(outputs);
    if (m && !out.some((r) => r.hash === m[1])) out.push({ path, hash: m[1]! });
  } else if (Array.isArray(outputs)) {
    outputs.forEach((v, i) => artifactRefs(v, `${path}[${i}]`, out));
  } else if (outputs !== null && typeof outputs === 'object') {
    for (const [k, v] of Object.entries(outputs)) artifactRefs(v, `${path}.${k}`, out);
  }
  return out;
}
