export { createApp } from './app.js';
// The route table (`./routes/index.js`, with every route's zod schemas) is imported by its own
// path: `serve` loads it after `listening` (src/cli/server.ts, issue #20).
export { plainAnswers } from './plain.js';
export { PageTokens } from './pagination.js';
export type { AppDeps, HttpConfig, Authenticator, Principal, Services } from './deps.js';
export type { RouteDef, HttpResult, RouteCtx } from './route.js';
export { defineRoute, isMutating } from './route.js';
export { markUpgradeAccepted, withUpgradeAnswers } from './upgrade.js';
export { answerClientErrors, MAX_HEADER_BYTES } from './client-errors.js';
export { namedRoute } from './middleware/request-log.js';
