#!/usr/bin/env node
import { runCli } from './cli/index.js';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`orchestrator: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
