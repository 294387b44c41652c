// Source-mode bootstrap of the step worker thread (chosen by workerSpec() in src/core/runtime.ts).
// On Node 20, tsx registers its loader hooks in the main thread only: a worker inherits the
// `--import tsx` flag but tsx skips registering inside worker threads, so a worker started on
// a .ts file fails with ERR_UNKNOWN_FILE_EXTENSION. This plain-ESM file registers tsx itself
// (resolved from this file, so the cwd does not matter), then loads the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
