/**
 * A layered left-to-right drawing of a DAG: each step's column is its depth (the longest
 * path from a root), rows within a column are ordered by the average row of the step's
 * parents (one barycentre sweep, ties by input order), edges are curves from the right side
 * of a step to the left side of its successor. Pure; linear in steps + edges per sweep.
 *
 * @example
 * const g = layoutDag(['a', 'b'], [{ from: 'a', to: 'b' }]);
 * g.nodes.get('b'); // { x: 220, y: 0, column: 1, row: 0, … }
 */
export interface LayoutOptions {
  nodeWidth: number;
  nodeHeight: number;
  columnGap: number;
  rowGap: number;
}

export interface PlacedNode {
  id: string;
  column: number;
  row: number;
  x: number;
  y: number;
}

export interface PlacedEdge {
  from: string;
  to: string;
  /** SVG path data. */
  d: string;
}

export interface Layout {
  nodes: Map<string, PlacedNode>;
  edges: PlacedEdge[];
  width: number;
  height: number;
  options: LayoutOptions;
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeWidth: 168, nodeHeight: 44, columnGap: 56, rowGap: 14 };

export function layoutDag(ids: readonly string[], edges: readonly { from: string; to: string }[], opts: LayoutOptions = DEFAULT_LAYOUT): Layout {
  const known = new Set(ids);
  const parents = new Map<string, string[]>(ids.map((id) => [id, []]));
  const children = new Map<string, string[]>(ids.map((id) => [id, []]));
  const indeg = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const e of edges) {
    if (!known.has(e.from) || !known.has(e.to)) continue;
    parents.get(e.to)!.push(e.from);
    children.get(e.from)!.push(e.to);
    indeg.set(e.to, indeg.get(e.to)! + 1);
  }
  // Kahn's order; depth = 1 + the deepest parent. Steps on a cycle (never in a valid DAG) stay at 0.
  const depth = new Map<string, number>(ids.map((id) => [id, 0]));
  const queue = ids.filter((id) => indeg.get(id) === 0);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    for (const c of children.get(id)!) {
      depth.set(c, Math.max(depth.get(c)!, depth.get(id)! + 1));
      const left = indeg.get(c)! - 1;
      indeg.set(c, left);
      if (left === 0) queue.push(c);
    }
  }
  const columns: string[][] = [];
  for (const id of ids) (columns[depth.get(id)!] ??= []).push(id);
  const row = new Map<string, number>();
  const order = new Map(ids.map((id, i) => [id, i]));
  columns.forEach((col, c) => {
    if (c > 0) {
      const bary = (id: string) => {
        const ps = parents.get(id)!;
        return ps.length ? ps.reduce((n, p) => n + row.get(p)!, 0) / ps.length : Number.MAX_SAFE_INTEGER;
      };
      col.sort((a, b) => bary(a) - bary(b) || order.get(a)! - order.get(b)!);
    }
    col.forEach((id, r) => row.set(id, r));
  });
  const { nodeWidth: w, nodeHeight: h, columnGap, rowGap } = opts;
  const tallest = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
  const height = tallest * h + (tallest - 1) * rowGap;
  const nodes = new Map<string, PlacedNode>();
  columns.forEach((col, c) => {
    // Each column centred vertically.
    const offset = (height - (col.length * h + (col.length - 1) * rowGap)) / 2;
    col.forEach((id, r) => nodes.set(id, { id, column: c, row: r, x: c * (w + columnGap), y: offset + r * (h + rowGap) }));
  });
  const placed: PlacedEdge[] = [];
  for (const e of edges) {
    const a = nodes.get(e.from);
    const b = nodes.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + w;
    const y1 = a.y + h / 2;
    const x2 = b.x;
    const y2 = b.y + h / 2;
    const mid = (x1 + x2) / 2;
    placed.push({ from: e.from, to: e.to, d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` });
  }
  const width = columns.length ? columns.length * w + (columns.length - 1) * columnGap : 0;
  return { nodes, edges: placed, width, height: ids.length ? height : 0, options: opts };
}
