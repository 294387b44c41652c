export { EventHub, Stream, type StreamSink, type HubOptions } from './hub.js';
export { NdjsonSink, WebSocketSink, WS_CLOSE_CODES } from './sinks.js';
export { matches, type StreamEvent, type EventFeed, type EventLogReader, type StreamFilter } from './types.js';
export { EventExports } from './export.js';
export { verifyEventChain, type ChainReport } from './chain.js';
/** The event's shape, as the API shows it and as the log stores it (defined with the log in store/events.ts). */
export { EVENT_TYPES, type EventRow, type EventType, type EventView } from '../store/events.js';
export { actorDetail, appendAuditEvent, auditEvent, scheduleActor, systemAudit, SYSTEM_ACTOR, type Audit } from './actor.js';
