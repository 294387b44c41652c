/**
 * The client of a running server (`docs/CLI.md`): one file per resource, each exporting its
 * commands; this list is all `src/cli/index.ts` needs. A new resource is one file of
 * `clientCommand(…)`s added here.
 *
 * @example
 * import { CLIENT_COMMANDS } from './client/index.js';
 */
import type { Command } from '../commands.js';
import { artifactsGet } from './artifacts.js';
import { dagsDisable, dagsGet, dagsList, dagsPublish } from './dags.js';
import { eventsTail } from './events.js';
import { runsCancel, runsGet, runsList } from './runs.js';
import { runsLogs } from './runs-logs.js';
import { runsStart } from './runs-start.js';
import { SCHEDULE_COMMANDS } from './schedules.js';

export const CLIENT_COMMANDS: Command[] = [
  runsStart,
  runsList,
  runsGet,
  runsCancel,
  runsLogs,
  dagsList,
  dagsGet,
  dagsPublish,
  dagsDisable,
  artifactsGet,
  ...SCHEDULE_COMMANDS,
  eventsTail,
];

export { GLOBAL_FLAGS, DEFAULT_SERVER } from './command.js';
