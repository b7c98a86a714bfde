import * as z from "zod";
import { JOB_TTL_SECONDS } from "../domain/job.js";
import { isHttpsOrLoopbackUrl } from "../domain/loopback.js";
import { DEFAULT_BATCH_API_CHECK_SECONDS } from "../jobs/demo-contract.js";
import { ENV } from "./env-names.js";
import {
  ConfigError,
  type Env,
  type EnvConfig,
  type EnvSpec,
  flag,
  integer,
  optionalText,
  readEnv,
} from "./env-reader.js";
import { AUTH_MODES, type AuthMode } from "./functions.js";
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_RESULT_MAX_BYTES,
  DEFAULT_WORKER_TIMEOUT_SECONDS,
  MAX_RESULT_MAX_BYTES,
  RESULT_INLINE_BYTES,
} from "./table-schema.js";
import { TELEMETRY_VARIABLES } from "./telemetry-config.js";
import {
  CALLBACK_VARIABLES,
  type CallbackConfig,
  EVENTS_VARIABLES,
  type EventsConfig,
  loadCallbackConfig,
  loadEventsConfig,
  loadOutboxConfig,
  OUTBOX_VARIABLES,
  type OutboxConfig,
} from "./webhook-config.js";

const tableName = [ENV.tableName, z.string().min(1)] as const;
const queueUrl = [ENV.queueUrl, z.string().url()] as const;
/** Unset: no results bucket, so results larger than the inline bound fail `result_too_large`. */
const resultBucketName = [
  ENV.resultBucketName,
  z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: "must be an S3 bucket name" })
    .optional(),
] as const;

/** A live run's lease: outlasts a 40 s store stall, and an orphaned one lapses within a minute. */
export const DEFAULT_LEASE_MS = 55_000;
export const DEFAULT_STORE_PATIENCE_MS = 60_000;

const workerSpec = {
  tableName,
  queueUrl,
  maxReceiveCount: [ENV.maxReceiveCount, integer(1, 1_000, DEFAULT_MAX_RECEIVE_COUNT)],
  resultMaxBytes: [ENV.resultMaxBytes, integer(1_000, MAX_RESULT_MAX_BYTES, DEFAULT_RESULT_MAX_BYTES)],
  resultInlineBytes: [
    ENV.resultInlineBytes,
    integer(0, RESULT_INLINE_BYTES.max, RESULT_INLINE_BYTES.default),
  ],
  resultBucketName,
  retryBaseSeconds: [ENV.retryBaseSeconds, integer(0, 900, 2)],
  retryMaxSeconds: [ENV.retryMaxSeconds, integer(0, 43_200, 300)],
  deadlineMarginMs: [ENV.deadlineMarginMs, integer(100, 60_000, 5_000)],
  cancelCheckMs: [ENV.cancelCheckMs, integer(50, 60_000, 2_000)],
  /**
   * How long a claim holds a job before another delivery may take it over; the live run renews it
   * while it works. Longer than a store stall a run should outlast, short enough that a claim no
   * run holds is taken over soon.
   */
  leaseMs: [ENV.leaseMs, integer(1_000, 900_000, DEFAULT_LEASE_MS)],
  /** How long the worker keeps trying a claim or an outcome write while the store does not answer. */
  storePatienceMs: [ENV.storePatienceMs, integer(0, 600_000, DEFAULT_STORE_PATIENCE_MS)],
} as const;

export type WorkerConfig = EnvConfig<typeof workerSpec>;

export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  return readEnv(workerSpec, env);
}

/** What AWS_CALL_POLICY may name. */
export const LOCAL_CALL_POLICIES = ["local", "deployed"] as const;
export type LocalCallPolicy = (typeof LOCAL_CALL_POLICIES)[number];

/** Settings of the local stack alone (`npm start`, tests, benchmarks). */
const localSpec = {
  /** The function timeout the local pollers give each worker invocation, as Lambda would. */
  workerTimeoutSeconds: [
    ENV.workerTimeoutSeconds,
    integer(1, DEFAULT_WORKER_TIMEOUT_SECONDS, DEFAULT_WORKER_TIMEOUT_SECONDS),
  ],
  /** Seconds between two checks of a batch_api job (the demo submit/check job type). */
  batchApiCheckSeconds: [ENV.batchApiCheckSeconds, integer(1, 900, DEFAULT_BATCH_API_CHECK_SECONDS)],
  /**
   * The timeouts and retries of the functions' AWS calls: "local" is patient (the emulators may
   * answer slowly on a loaded machine); "deployed" gives each function its deployed budget
   * (aws-call-policy.ts), as on AWS.
   */
  callPolicy: [
    ENV.awsCallPolicy,
    z
      .enum(LOCAL_CALL_POLICIES, {
        message: `must be "local" (patient AWS calls, the default) or "deployed" (the deployed functions' call budgets)`,
      })
      .default("local"),
  ],
} as const;

export type LocalConfig = EnvConfig<typeof localSpec>;

export function loadLocalConfig(env: Env = process.env): LocalConfig {
  return readEnv(localSpec, env);
}

const deadLetterSpec = { tableName } as const;
export type DeadLetterConfig = EnvConfig<typeof deadLetterSpec>;

export function loadDeadLetterConfig(env: Env = process.env): DeadLetterConfig {
  return readEnv(deadLetterSpec, env);
}

export const jobTtlSecondsSchema = integer(JOB_TTL_SECONDS.min, JOB_TTL_SECONDS.max, JOB_TTL_SECONDS.default);

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const commaList = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

/** JWT settings: an OAuth 2.1 resource server trusting one issuer. */
export interface JwtAuthConfig {
  readonly mode: "jwt";
  /** The `iss` every token must carry, exactly. */
  readonly issuer: string;
  /** Must appear in `aud`; a Cognito access token without `aud` may instead carry it as `client_id`. */
  readonly audience: string;
  /** Where the signing keys are; undefined: discovered from `<issuer>/.well-known/openid-configuration`. */
  readonly jwksUrl?: string;
  /** Scopes every token must hold (all of them). */
  readonly requiredScopes: readonly string[];
  /** Announced in the protected resource metadata; defaults to the issuer. */
  readonly authorizationServers: readonly string[];
}

/** Either API_KEYS (`name:key,…`, local runs) or the secret the stack creates. */
export type ApiKeyAuthConfig =
  | { readonly mode: "api-key"; readonly apiKeys: string; readonly apiKeysSecretArn?: undefined }
  | { readonly mode: "api-key"; readonly apiKeys?: undefined; readonly apiKeysSecretArn: string };

export type AuthConfig = { readonly mode: "none" } | ApiKeyAuthConfig | JwtAuthConfig;

const mcpSpec = {
  tableName,
  queueUrl,
  jobTtlSeconds: [ENV.jobTtlSeconds, jobTtlSecondsSchema],
  authMode: [ENV.authMode, z.enum(AUTH_MODES).default("none")],
  allowedOrigins: [ENV.allowedOrigins, commaList],
  maxBodyBytes: [ENV.maxBodyBytes, integer(1_024, 6 * 1024 * 1024, DEFAULT_MAX_BODY_BYTES)],
  callerMaxActiveJobs: [ENV.callerMaxActiveJobs, integer(0, 100_000, 0)],
  callerMaxStartsPerMinute: [ENV.callerMaxStartsPerMinute, integer(0, 100_000, 0)],
  resultBucketName,
  /** Deployed: answers about a stored result carry a presigned link to it. */
  resultPresignedUrls: [ENV.resultPresignedUrls, flag],
} as const;

export type McpConfig = EnvConfig<typeof mcpSpec> & {
  readonly auth: AuthConfig;
  /** Completion webhooks: which callbackUrls a start accepts, and where ended jobs' notifications go. */
  readonly callbacks: CallbackConfig & OutboxConfig;
  /** MCP Events: the per-caller subscription limit (the table is `callbacks.subscriptionTableName`). */
  readonly events: EventsConfig;
};

export function loadMcpConfig(env: Env = process.env): McpConfig {
  const config = readEnv(mcpSpec, env);
  return {
    ...config,
    auth: loadAuthConfig(config.authMode, env),
    callbacks: { ...loadCallbackConfig(env), ...loadOutboxConfig(env) },
    events: loadEventsConfig(env),
  };
}

/** RFC 6749 scope-token: printable ASCII without space, quote or backslash. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** https, or http on loopback only (a local issuer in tests and `npm start`). */
function issuerUrl(name: string, value: string): string {
  if (!URL.canParse(value)) throw new ConfigError(`${name} must be an https URL; got "${value}".`);
  if (!isHttpsOrLoopbackUrl(value)) {
    throw new ConfigError(`${name} must be an https URL (http only on loopback); got "${value}".`);
  }
  return value;
}

const authSpec = {
  apiKeys: [ENV.apiKeys, optionalText],
  apiKeysSecretArn: [ENV.apiKeysSecretArn, optionalText],
  issuer: [ENV.jwtIssuer, optionalText],
  audience: [ENV.jwtAudience, optionalText],
  jwksUrl: [ENV.jwtJwksUrl, optionalText],
  requiredScopes: [
    ENV.jwtRequiredScopes,
    z
      .string()
      .default("")
      .transform((value) => value.split(/[\s,]+/).filter((scope) => scope.length > 0)),
  ],
  authorizationServers: [ENV.jwtAuthorizationServers, commaList],
} as const;

function variablesOf(spec: EnvSpec): string[] {
  return Object.values(spec).map(([name]) => name);
}

/** The variables each function's config reads; the stack sets no others (test/infra checks it). */
export const ENV_READ_BY_FUNCTION: Readonly<Record<"mcp" | "worker" | "deadLetter", readonly string[]>> = {
  mcp: [
    ...variablesOf(mcpSpec),
    ...variablesOf(authSpec),
    ...CALLBACK_VARIABLES,
    ...OUTBOX_VARIABLES,
    ...EVENTS_VARIABLES,
    ...TELEMETRY_VARIABLES,
  ],
  worker: [...variablesOf(workerSpec), ...OUTBOX_VARIABLES, ...TELEMETRY_VARIABLES],
  deadLetter: [...variablesOf(deadLetterSpec), ...OUTBOX_VARIABLES, ...TELEMETRY_VARIABLES],
};

/** The settings of the mode AUTH_MODE names; each mode checks only its own variables. */
export function loadAuthConfig(mode: AuthMode, env: Env): AuthConfig {
  const parsed = readEnv(authSpec, env);
  switch (mode) {
    case "none":
      return { mode };
    case "api-key": {
      const apiKeys = parsed.apiKeys;
      const apiKeysSecretArn = parsed.apiKeysSecretArn;
      if (apiKeys !== undefined && apiKeysSecretArn !== undefined) {
        throw new ConfigError(`AUTH_MODE=api-key: set ${ENV.apiKeys} or ${ENV.apiKeysSecretArn}, not both.`);
      }
      if (apiKeys !== undefined) return { mode, apiKeys };
      if (apiKeysSecretArn !== undefined) return { mode, apiKeysSecretArn };
      throw new ConfigError(
        `AUTH_MODE=api-key needs ${ENV.apiKeys} (name:key pairs, comma-separated, e.g. "alice:<key>,bob:<key>") or ${ENV.apiKeysSecretArn}.`,
      );
    }
    case "jwt": {
      const issuer = parsed.issuer;
      const audience = parsed.audience;
      const missing = [
        issuer === undefined ? ENV.jwtIssuer : undefined,
        audience === undefined ? ENV.jwtAudience : undefined,
      ].filter((name) => name !== undefined);
      if (issuer === undefined || audience === undefined) {
        throw new ConfigError(`AUTH_MODE=jwt needs ${missing.join(" and ")}.`);
      }
      const jwksUrl = parsed.jwksUrl;
      const requiredScopes = parsed.requiredScopes;
      const invalidScope = requiredScopes.find((scope) => !SCOPE_TOKEN.test(scope));
      if (invalidScope !== undefined) {
        throw new ConfigError(`${ENV.jwtRequiredScopes}: "${invalidScope}" is not a valid OAuth scope.`);
      }
      const servers = parsed.authorizationServers;
      return {
        mode,
        issuer: issuerUrl(ENV.jwtIssuer, issuer),
        audience,
        ...(jwksUrl !== undefined ? { jwksUrl: issuerUrl(ENV.jwtJwksUrl, jwksUrl) } : {}),
        requiredScopes,
        authorizationServers:
          servers.length > 0 ? servers.map((url) => issuerUrl(ENV.jwtAuthorizationServers, url)) : [issuer],
      };
    }
  }
}
