/**
 * The DAG domain (pure: no HTTP, no SQL): document model, validation, canonical hash, DSSE
 * signatures, SemVer keys, compiled plans, input validation. See README.md for the decisions.
 */
export {
  TRIGGERS,
  PLUGIN_NAME_RE,
  MAX_TIMEOUT_MS,
  MAX_BACKOFF_MS,
  MAX_SIGNATURES,
  MAX_REPORTED_ISSUES,
  dagDocumentSchema,
  stepSchema,
  edgeSchema,
  retriesSchema,
  dsseEnvelopeSchema,
  parseDag,
  splitPluginRef,
  zodErrorDetails,
} from './model.js';
export type {
  Trigger,
  RetryPolicy,
  DagStep,
  DagEdge,
  DsseEnvelope,
  DsseSignature,
  DagDocument,
  DagContent,
  FieldIssue,
} from './model.js';
export { validateDag, findDagProblems, DEFAULT_DAG_LIMITS, MAX_REPORTED_ERRORS } from './validate.js';
export type { DagLimits, ValidateOptions, DagProblem } from './validate.js';
export { withProblems, withWarnings } from './with-check.js';
export type { WithProblem, DagWarning, SchemaOf } from './with-check.js';
export { dagContent, dagCanonicalJson, dagHash } from './canonical.js';
export {
  DAG_PAYLOAD_TYPE,
  pae,
  decodeBase64Strict,
  dsseSign,
  dsseVerify,
  verifyDagSignature,
  signDag,
} from './signature.js';
export { TrustStore, generateSigningKeyPair, keyIdOf, keyAlgorithm, loadPrivateKey } from './keys.js';
export type { SigningAlgorithm } from './keys.js';
export { isSemver, compareSemver, semverKey } from './semver.js';
export { pinPlugins, pinsJson, parsePins } from './pins.js';
export type { PluginPin, PluginPins, PinEntry, PinResolver, PinnablePlugin } from './pins.js';
export { compilePlan } from './plan.js';
export type { Plan, PlanStep, PlanRetries } from './plan.js';
export { resolveWith, backoffMs, RETRY_DEFAULTS, StepReferenceError } from './resolve.js';
export type { ResolveContext } from './resolve.js';
export { parseTemplate, collectRefs } from './refs.js';
export type { Ref, InputsRef, StepRef, RefProblem } from './refs.js';
export {
  compileInputsValidator,
  compileSchema,
  formatAjvErrors,
  clearInputsValidatorCache,
  MAX_INPUT_ERRORS,
} from './inputs.js';
