/**
 * `npm run bench`: the project's benchmarks, one after the other. For now, the fan-out
 * benchmark (no-op steps per second through a 1,000-step fan-out DAG, durability on);
 * arguments are passed through (see scripts/bench/fanout.ts).
 */
await import('./fanout.js');
