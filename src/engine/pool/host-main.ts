/**
 * Entry of host mode: `orchestrator __plugin-host` (src/main.ts dispatches here before the CLI
 * loads), and from source the small bundle that `hostRuntime()` builds (src/core/runtime.ts).
 */
import { runPluginHost } from './host.js';

runPluginHost();
