/**
 * A real server for crash tests whose clock runs `TEST_CLOCK_OFFSET_MS` ahead of the system
 * clock, so a test reaches a fire time in seconds instead of a minute. The clock is injected
 * in-process by this test harness (a `Clock` object); the product has no flag for it. Prints
 * what `orchestrator serve --dev` prints: the `listening on` line and the dev token.
 *
 * node --import tsx test/schedules/shifted-server.ts <data-dir> [serve flags…]
 */
import { mintToken } from '../../src/auth/index.js';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/config.js';
import { createLogger, startServer } from '../../src/cli/server.js';

const offset = Number(process.env.TEST_CLOCK_OFFSET_MS ?? '0');
const [dataDir, ...extra] = process.argv.slice(2);
const { flags } = parseFlags(['--dev', '--port', '0', '--data-dir', dataDir!, '--allow-unsigned', '--workers', '1', '--log-level', 'warn', ...extra], SERVE_FLAGS, {});
const config = serveConfig(flags);
const server = await startServer(config, createLogger(config.logLevel), {
  clock: { now: () => Date.now() + offset },
  onListening: (url) => process.stdout.write(`listening on ${url}\n`),
});
const k = server.devKeys!;
const token = await mintToken({ ...k, tenants: ['demo'], scopes: ['orchestrator:admin'], ttlSec: 3600 });
process.stderr.write(`export TOKEN=${token}\n`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
