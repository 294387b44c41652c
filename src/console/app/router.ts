/**
 * A tiny hash router: `#/runs/<runId>?x=y`. Hash routes keep the server strict (it serves
 * `/console/` and hashed assets only; every other path is a 404) and never put a token in a URL.
 *
 * @example
 * const route = useRoute();            // { path: ['runs', '0199…'], query: URLSearchParams }
 * <a href={href('runs', runId)}>…</a>
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** Decoded path segments: `#/runs/abc` → ['runs', 'abc']. */
  path: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const body = hash.replace(/^#\/?/, '');
  const q = body.indexOf('?');
  const pathPart = q >= 0 ? body.slice(0, q) : body;
  const path = pathPart
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { path, query: new URLSearchParams(q >= 0 ? body.slice(q + 1) : '') };
}

/** `href('runs', id)` → `#/runs/<id>`; a last object argument becomes the query. */
export function href(...parts: (string | Record<string, string | undefined>)[]): string {
  let query = '';
  const segs: string[] = [];
  for (const p of parts) {
    if (typeof p === 'string') segs.push(encodeURIComponent(p));
    else {
      const sp = new URLSearchParams();
      for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== '') sp.set(k, v);
      const s = sp.toString();
      if (s) query = `?${s}`;
    }
  }
  return `#/${segs.join('/')}${query}`;
}

export function navigate(to: string): void {
  if (location.hash !== to) location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
