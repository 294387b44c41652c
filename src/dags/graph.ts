/**
 * Graph algorithms over step indexes, all iterative (a 10,000-step chain cannot overflow the
 * stack): Kahn's topological sort (with a min-heap on step id for the deterministic plan
 * order), cycle extraction, and ancestor bitsets.
 */

/** Adjacency by step index; `preds`/`succs` hold each unique edge once. */
export interface Graph {
  ids: readonly string[];
  preds: number[][];
  succs: number[][];
}

import { MinHeap } from '../core/heap.js';

/**
 * Kahn's algorithm. With `byId`, ready steps leave in step-id order (code-unit order, which for
 * ids of `[a-z0-9._-]` is byte order), in O((V+E) log V); otherwise FIFO in O(V+E). Returns the
 * ordered indexes; fewer than V when there is a cycle.
 *
 * @example
 * topoOrder({ ids: ['b', 'a'], preds: [[], []], succs: [[], []] }, true) // [1, 0]
 */
export function topoOrder(g: Graph, byId: boolean): number[] {
  const n = g.ids.length;
  const indeg = new Int32Array(n);
  for (let v = 0; v < n; v++) indeg[v] = g.preds[v]!.length;
  const order: number[] = [];
  if (byId) {
    const ids = g.ids;
    const heap = new MinHeap<number>((x, y) => ids[x]! < ids[y]!);
    for (let v = 0; v < n; v++) if (indeg[v] === 0) heap.push(v);
    while (heap.size) {
      const v = heap.pop()!;
      order.push(v);
      for (const w of g.succs[v]!) if (--indeg[w]! === 0) heap.push(w);
    }
  } else {
    for (let v = 0; v < n; v++) if (indeg[v] === 0) order.push(v);
    for (let head = 0; head < order.length; head++) {
      for (const w of g.succs[order[head]!]!) if (--indeg[w]! === 0) order.push(w);
    }
  }
  return order;
}

/**
 * Some disjoint cycles (at least one when there is any) among the steps Kahn's algorithm
 * could not order (each such step has a predecessor that is also unordered, so walking
 * predecessors must loop). Each cycle is listed
 * in edge direction, starting at its smallest id.
 *
 * @example
 * findCycles(g, order, 10) // [['a', 'b', 'c']]  (a → b → c → a)
 */
export function findCycles(g: Graph, orderedSteps: readonly number[], max: number): string[][] {
  const n = g.ids.length;
  const ordered = new Uint8Array(n);
  for (const v of orderedSteps) ordered[v] = 1;
  const visited = new Uint8Array(n); // ordered, or walked by an earlier walk
  visited.set(ordered);
  const walk = new Int32Array(n).fill(-1); // position in the current walk, or -1
  const cycles: string[][] = [];
  for (let start = 0; start < n && cycles.length < max; start++) {
    if (visited[start]) continue;
    const path: number[] = [];
    let v = start;
    while (!visited[v] && walk[v] === -1) {
      walk[v] = path.length;
      path.push(v);
      v = g.preds[v]!.find((p) => !ordered[p])!;
    }
    if (walk[v] !== -1) {
      // v is on the current walk: path[walk[v]..] is a cycle, walked against edge direction.
      const cyc = path.slice(walk[v]).reverse().map((i) => g.ids[i]!);
      let m = 0;
      for (let i = 1; i < cyc.length; i++) if (cyc[i]! < cyc[m]!) m = i;
      cycles.push([...cyc.slice(m), ...cyc.slice(0, m)]);
    }
    for (const p of path) {
      visited[p] = 1;
      walk[p] = -1;
    }
  }
  return cycles;
}

/**
 * For each step, the set of `targets` that are its ancestors (transitively), as bitsets over
 * target positions, computed in topological order in O(E · T/32).
 *
 * @example
 * const anc = ancestorSets(g, order, [0]); anc.has(2, 0) // is step 0 an ancestor of step 2?
 */
export function ancestorSets(
  g: Graph,
  order: readonly number[],
  targets: readonly number[],
): { has(step: number, targetPos: number): boolean } {
  const words = Math.max(1, Math.ceil(targets.length / 32));
  const bits = new Uint32Array(g.ids.length * words);
  const posOf = new Int32Array(g.ids.length).fill(-1);
  targets.forEach((t, i) => (posOf[t] = i));
  for (const v of order) {
    const base = v * words;
    for (const p of g.preds[v]!) {
      const pb = p * words;
      for (let w = 0; w < words; w++) bits[base + w]! |= bits[pb + w]!;
      const pos = posOf[p]!;
      if (pos >= 0) bits[base + (pos >>> 5)]! |= 1 << (pos & 31);
    }
  }
  return {
    has: (step, pos) => (bits[step * words + (pos >>> 5)]! & (1 << (pos & 31))) !== 0,
  };
}
