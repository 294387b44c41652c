#!/usr/bin/env node
// Host mode (`__plugin-host`, started by the server's worker pool) loads only the plugin host;
// everything else is the CLI. Both are imported lazily, so neither pays for the other.
import { PLUGIN_HOST_ARG } from './engine/pool/host-protocol.js';

if (process.argv[2] === PLUGIN_HOST_ARG) {
  void import('./engine/pool/host-main.js');
} else {
  void import('./cli/index.js').then(({ runCli }) =>
    runCli(process.argv.slice(2)).then(
      (code) => {
        process.exitCode = code;
      },
      (err) => {
        process.stderr.write(`orchestrator: ${String(err)}\n`);
        process.exitCode = 1;
      },
    ),
  );
}
