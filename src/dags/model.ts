/**
 * The DAG document of CONTRACT §5 as zod 4 schemas. Every object is strict: an unknown field is
 * a schema violation (mass-assignment protection), answered with `VALIDATION_FAILED` (400).
 * Graph-level problems (cycles, unknown plugins, bad references, limits) are checked later by
 * `validateDag` and answered with `DAG_INVALID` (422).
 */
import { z } from 'zod';
import { ApiError } from '../core/errors.js';
import { ID_RE } from '../core/ids.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../core/json.js';
import { isSemver, SEMVER_RE } from './semver.js';

/** The five trigger rules a step may declare; `all_success` is the default. */
export const TRIGGERS = ['all_success', 'all_done', 'one_failed', 'one_success', 'none_failed'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** A plugin reference: `name` or `name@version` (the version is SemVer 2.0). */
export const PLUGIN_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** Largest timeout a step may ask for: `setTimeout` fires at once above 2³¹-1 ms. */
export const MAX_TIMEOUT_MS = 2_147_483_647;
/** Largest `backoffMs` / `maxBackoffMs` (24 h). */
export const MAX_BACKOFF_MS = 86_400_000;
/** At most this many signatures in one envelope (each costs a verification). */
export const MAX_SIGNATURES = 16;

/**
 * Splits `name@version`; `version` is undefined for a bare name.
 *
 * @example
 * splitPluginRef('echo@1.2.0') // { name: 'echo', version: '1.2.0' }
 */
export function splitPluginRef(ref: string): { name: string; version?: string } {
  const at = ref.indexOf('@');
  return at < 0 ? { name: ref } : { name: ref.slice(0, at), version: ref.slice(at + 1) };
}

function isPluginRef(ref: string): boolean {
  const { name, version } = splitPluginRef(ref);
  return PLUGIN_NAME_RE.test(name) && (version === undefined || isSemver(version));
}

/** `name` or `name@<semver>`, as a pattern for documents ({@link isPluginRef} is the exact check). */
const PLUGIN_REF_RE = new RegExp(`^${PLUGIN_NAME_RE.source.slice(1, -1)}(?:@${SEMVER_RE.source.slice(1, -1)})?$`);

/** A SemVer 2.0 version (the pattern is documented; `isSemver` adds the exact limits). */
export const versionSchema = z
  .string()
  .regex(SEMVER_RE, 'must be a SemVer 2.0 version (no leading "v")')
  .refine(isSemver, { message: 'must be a SemVer 2.0 version (no leading "v")', when: (p) => p.issues.length === 0 })
  .meta({ description: 'SemVer 2.0 version, e.g. 1.4.0 or 2.0.0-rc.1.' });

const idSchema = z.string().regex(ID_RE, 'must match ^[a-z0-9][a-z0-9._-]{0,127}$');
const jsonObject = z.record(z.string(), z.json());

export const retriesSchema = z.strictObject({
  max: z.int().min(0).max(100),
  backoffMs: z.int().min(0).max(MAX_BACKOFF_MS).optional(),
  factor: z.number().min(1).max(100).optional(),
  maxBackoffMs: z.int().min(0).max(MAX_BACKOFF_MS).optional(),
});

export const stepSchema = z.strictObject({
  id: idSchema,
  plugin: z
    .string()
    .regex(PLUGIN_REF_RE, 'must be "name" or "name@<semver>"')
    .refine(isPluginRef, { message: 'must be "name" or "name@<semver>"', when: (p) => p.issues.length === 0 })
    .meta({ description: 'Plugin name, or name@version (SemVer 2.0).' }),
  with: jsonObject.optional(),
  retries: retriesSchema.optional(),
  timeoutMs: z.int().min(1).max(MAX_TIMEOUT_MS).optional(),
  trigger: z.enum(TRIGGERS).optional(),
});

export const edgeSchema = z.strictObject({ from: idSchema, to: idSchema });

/** A DSSE envelope (https://github.com/secure-systems-lab/dsse). `keyid` is an optional hint. */
export const dsseEnvelopeSchema = z.strictObject({
  payloadType: z.string().min(1).max(256),
  payload: z.string(),
  signatures: z
    .array(z.strictObject({ keyid: z.string().max(256).optional(), sig: z.string().min(1).max(4096) }))
    .max(MAX_SIGNATURES),
});

export const dagDocumentSchema = z.strictObject({
  dagId: idSchema,
  version: versionSchema,
  metadata: jsonObject.optional(),
  inputsSchema: jsonObject.optional(),
  steps: z.array(stepSchema).min(1),
  edges: z.array(edgeSchema).optional(),
  signature: dsseEnvelopeSchema.optional(),
});

export type RetryPolicy = z.infer<typeof retriesSchema>;
export type DagStep = z.infer<typeof stepSchema>;
export type DagEdge = z.infer<typeof edgeSchema>;
export type DsseEnvelope = z.infer<typeof dsseEnvelopeSchema>;
export type DsseSignature = DsseEnvelope['signatures'][number];
export type DagDocument = z.infer<typeof dagDocumentSchema>;
/** The signed part of a DAG document: everything but `signature`. */
export type DagContent = Omit<DagDocument, 'signature'>;

/** One schema problem, as reported in `details.issues`. */
export interface FieldIssue {
  field: string;
  code: string;
  message: string;
}

/** At most this many issues are listed in `details.issues`. */
export const MAX_REPORTED_ISSUES = 100;

function fieldOf(path: ReadonlyArray<PropertyKey>): string {
  return path.map(String).join('.');
}

/**
 * Turns a ZodError into error details naming the field of the first problem, plus every issue.
 * An unknown key is named with its own path (`steps.0.extra`); the document root is `body`.
 *
 * @example
 * zodErrorDetails(err) // { field: 'steps.0.id', issues: [{ field: 'steps.0.id', code: 'invalid_format', message: '…' }] }
 */
export function zodErrorDetails(err: z.ZodError): { field: string; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  for (const issue of err.issues) {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    for (const key of keys) {
      const path = key === undefined ? issue.path : [...issue.path, key];
      const message = key === undefined ? issue.message : 'unknown field';
      issues.push({ field: fieldOf(path) || 'body', code: issue.code, message });
    }
  }
  return { field: issues[0]?.field ?? 'body', issues: issues.slice(0, MAX_REPORTED_ISSUES) };
}

/** Finds the path of the first `__proto__` key (zod and plain assignment would drop it). */
function protoKeyPath(value: unknown): string | undefined {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    for (const [k, child] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      if (k === '__proto__') return p;
      if (child !== null && typeof child === 'object') stack.push([child, p]);
    }
  }
  return undefined;
}

/**
 * Parses an untrusted value (e.g. a JSON body) into a {@link DagDocument}, or throws
 * `ApiError('VALIDATION_FAILED')` naming the field. Also refuses nesting deeper than
 * `maxDepth` (64) and any `__proto__` key, before zod walks the value. The result has no
 * defaults filled in: it is the document as sent.
 *
 * @example
 * const doc = parseDag(JSON.parse(text));
 */
export function parseDag(raw: unknown, opts: { maxDepth?: number } = {}): DagDocument {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  if (jsonDepthExceeds(raw, maxDepth)) {
    throw new ApiError('VALIDATION_FAILED', `DAG document nested deeper than ${maxDepth}`, {
      field: 'body',
    });
  }
  const proto = protoKeyPath(raw);
  if (proto !== undefined) {
    throw new ApiError('VALIDATION_FAILED', `${proto}: "__proto__" is not an allowed key`, {
      field: proto,
      issues: [{ field: proto, code: 'forbidden_key', message: '"__proto__" is not an allowed key' }],
    });
  }
  const r = dagDocumentSchema.safeParse(raw);
  if (!r.success) {
    const details = zodErrorDetails(r.error);
    const first = details.issues[0];
    const msg = first ? `${first.field}: ${first.message}` : 'invalid DAG document';
    throw new ApiError('VALIDATION_FAILED', msg, details);
  }
  return r.data;
}
