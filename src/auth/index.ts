/**
 * Public face of `src/auth/`: offline JWT verification against a local JWKS, the caller
 * {@link Principal} with scope/tenant helpers, and dev-mode keys and tokens.
 *
 * @example
 * import { createVerifier, hasScope, tenantAllowed } from '../auth/index.js';
 * const verifier = createVerifier({ jwksFile, issuer, audience });
 * const p = await verifier.verify(c.req.header('authorization')); // 401 ApiError on any failure
 * if (!hasScope(p, 'orchestrator:write')) throw new ApiError('INSUFFICIENT_SCOPE', 'needs orchestrator:write');
 */
export {
  ALLOWED_ALGS,
  MAX_TOKEN_LENGTH,
  createVerifier,
  loadJwksFile,
  unauthenticated,
  type KeyChange,
  type RejectReason,
  type Verifier,
  type VerifierOptions,
} from './verifier.js';
export {
  SCOPES,
  TENANT_CLAIM,
  hasScope,
  parseScopes,
  parseTenants,
  principalFromClaims,
  tenantAllowed,
  type Principal,
  type Scope,
} from './principal.js';
export {
  DEV_AUDIENCE,
  DEV_ISSUER,
  DEV_TOKEN_MAX_TTL_SEC,
  DEV_TOKEN_TTL_SEC,
  ensureDevKeys,
  existingDevKeys,
  mintToken,
  type DevKeys,
  type MintOptions,
} from './dev.js';
export { StaticToken } from './static-token.js';
