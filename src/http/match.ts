/**
 * Which route a concrete path belongs to, written once for routing and the 405 answer. A route's
 * path template (`/runs/{runId}:cancel`) takes a path when every literal segment is equal and a
 * custom verb (`:cancel`) ends its segment. A parameter never takes a custom verb that another
 * route declares at the same place: `/runs/{runId}` does not take `/runs/0190…:cancel`, which is
 * the path of `POST /runs/{runId}:cancel` alone. So a path has one set of methods. (Whether the
 * parameters are well formed is the route's business: a malformed id is its 404.)
 *
 * @example
 * const m = compileMatcher(getRun, routes);
 * m('/runs/01900000-0000-7000-8000-000000000000') // { runId: '01900000-…' }
 * m('/runs/01900000-0000-7000-8000-000000000000:cancel') // null
 */
import { API_BASE } from '../core/index.js';
import type { RouteDef } from './route.js';

type Segment = { literal: string } | { param: string; verb: string; notVerbs: string[] };

const PARAM_SEGMENT = /^\{([A-Za-z0-9_]+)\}(:[a-z]+)?$/;

/** A function from a path (relative to the base path) to its decoded parameters, or null. */
export type Matcher = (path: string) => Record<string, string> | null;

function segmentsOf(template: string): Segment[] {
  return template.split('/').map((s) => {
    const m = PARAM_SEGMENT.exec(s);
    return m ? { param: m[1]!, verb: m[2] ?? '', notVerbs: [] } : { literal: s };
  });
}

/** Same shape at every position but `i` (literals equal, parameters anywhere). */
function sameShapeExcept(a: Segment[], b: Segment[], i: number): boolean {
  if (a.length !== b.length) return false;
  return a.every((s, j) => j === i || ('literal' in s ? 'literal' in b[j]! && s.literal === b[j]!.literal : 'param' in b[j]!));
}

export function compileMatcher(route: RouteDef, routes: readonly RouteDef[]): Matcher {
  const segments = segmentsOf(route.path);
  const others = routes.filter((r) => r !== route).map((r) => segmentsOf(r.path));
  segments.forEach((seg, i) => {
    if (!('param' in seg) || seg.verb) return;
    for (const o of others) {
      const at = o[i];
      if (at && 'param' in at && at.verb && sameShapeExcept(segments, o, i)) seg.notVerbs.push(at.verb);
    }
  });
  return (path) => {
    const parts = path.split('/');
    if (parts.length !== segments.length) return null;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const seg = segments[i]!;
      const part = parts[i]!;
      if ('literal' in seg) {
        if (part !== seg.literal) return null;
        continue;
      }
      if (!part.endsWith(seg.verb) || part.length === seg.verb.length) return null;
      if (seg.notVerbs.some((v) => part.endsWith(v))) return null;
      try {
        params[seg.param] = decodeURIComponent(part.slice(0, part.length - seg.verb.length));
      } catch {
        return null; // malformed percent-encoding: no path of this API
      }
    }
    return params;
  };
}

/**
 * The request's path below the base path, still percent-encoded (each parameter is decoded once,
 * by the matcher), or undefined outside the base path.
 */
export function apiPath(url: string): string | undefined {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  let end = url.indexOf('?', start);
  if (end < 0) end = url.length;
  const hash = url.indexOf('#', start);
  if (hash >= 0 && hash < end) end = hash;
  const path = url.slice(start, end);
  return path.startsWith(API_BASE + '/') ? path.slice(API_BASE.length) : undefined;
}
