/** See test-bundle.mjs. */
export function bundleHash(): string;
/** The folder holding `main.cjs`, `worker.cjs` and the SQLite addon of the current source, built if missing. */
export function testBundle(): Promise<string>;
