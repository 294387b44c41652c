import type { Logger } from 'pino';
import type { Clock } from '../core/index.js';
import type { PageTokens } from './pagination.js';
import type { Principal } from '../auth/index.js';

export type { Principal };

export interface Authenticator {
  /** Verifies the `Authorization` header; throws ApiError('UNAUTHENTICATED'). */
  verify(authorizationHeader: string | undefined): Promise<Principal>;
}

export interface HttpConfig {
  bodyLimitBytes: number;
  dagBodyLimitBytes: number;
  maxJsonDepth: number;
  requireIdempotencyKey: boolean;
  idempotencyTtlMs: number;
  /** Unsigned DAGs are accepted (`--allow-unsigned`): the document shows `signature` optional. */
  allowUnsigned?: boolean;
  /** Check every answer against its route's declaration (tests; see conformance.ts). */
  validateResponses?: boolean;
}

/** Observes each answered request (metrics). `route` is the template, never the raw path. */
export type RequestObserver = (route: string, method: string, status: number, seconds: number) => void;

/**
 * Everything routes need, handed in (no globals). Services are typed where they are defined;
 * routes look them up by name.
 */
export interface AppDeps {
  config: HttpConfig;
  logger: Logger;
  clock: Clock;
  auth: Authenticator;
  /** The static scrape token (`--metrics-token-file`), for routes that declare `scrapeToken`. */
  scrapeToken?: { matches(authorizationHeader: string | undefined): boolean };
  pages: PageTokens;
  observe?: RequestObserver;
  /** Not ready: every route but probes answers 503; draining: new work (POST) answers 503. */
  lifecycle: { ready: boolean; draining: boolean };
  /** Domain services, keyed by name (dags, runs, artifacts, events, ops…). */
  services: Services;
}

// Filled in by each feature through declaration merging (see routes/*.ts).
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Services {}
