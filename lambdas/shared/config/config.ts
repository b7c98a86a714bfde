import { z } from "zod";
import { JOB_TTL_SECONDS } from "../domain/job.js";
import { ENV } from "./env-names.js";
import { AUTH_MODES, type AuthMode } from "./functions.js";
import { DEFAULT_MAX_RECEIVE_COUNT, DEFAULT_RESULT_MAX_BYTES } from "./table-schema.js";

/** Config is parsed once at cold start, so a bad value fails at once and names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

function integer(min: number, max: number, fallback: number): z.ZodType<number> {
  return z.coerce.number().int().min(min).max(max).default(fallback);
}

export function parseEnv<Shape extends z.ZodRawShape>(shape: Shape, env: Env): z.infer<z.ZodObject<Shape>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  return result.data;
}

const storeShape = {
  [ENV.tableName]: z.string().min(1),
  [ENV.resultMaxBytes]: integer(1_000, 350_000, DEFAULT_RESULT_MAX_BYTES),
  [ENV.maxReceiveCount]: integer(1, 1_000, DEFAULT_MAX_RECEIVE_COUNT),
};

export interface WorkerConfig {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly maxReceiveCount: number;
  readonly resultMaxBytes: number;
  readonly retryBaseSeconds: number;
  readonly retryMaxSeconds: number;
  readonly deadlineMarginMs: number;
  readonly cancelCheckMs: number;
}

export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const parsed = parseEnv(
    {
      ...storeShape,
      [ENV.queueUrl]: z.string().url(),
      [ENV.retryBaseSeconds]: integer(0, 900, 2),
      [ENV.retryMaxSeconds]: integer(0, 43_200, 300),
      [ENV.deadlineMarginMs]: integer(100, 60_000, 5_000),
      [ENV.cancelCheckMs]: integer(50, 60_000, 2_000),
    },
    env,
  );
  return {
    tableName: parsed[ENV.tableName],
    queueUrl: parsed[ENV.queueUrl],
    maxReceiveCount: parsed[ENV.maxReceiveCount],
    resultMaxBytes: parsed[ENV.resultMaxBytes],
    retryBaseSeconds: parsed[ENV.retryBaseSeconds],
    retryMaxSeconds: parsed[ENV.retryMaxSeconds],
    deadlineMarginMs: parsed[ENV.deadlineMarginMs],
    cancelCheckMs: parsed[ENV.cancelCheckMs],
  };
}

export interface DeadLetterConfig {
  readonly tableName: string;
}

export function loadDeadLetterConfig(env: Env = process.env): DeadLetterConfig {
  const parsed = parseEnv({ [ENV.tableName]: z.string().min(1) }, env);
  return { tableName: parsed[ENV.tableName] };
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

export interface McpConfig {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly jobTtlSeconds: number;
  readonly authMode: AuthMode;
  readonly allowedOrigins: readonly string[];
  readonly maxBodyBytes: number;
  readonly callerMaxActiveJobs: number;
  readonly callerMaxStartsPerMinute: number;
}

export function loadMcpConfig(env: Env = process.env): McpConfig {
  const parsed = parseEnv(
    {
      [ENV.tableName]: z.string().min(1),
      [ENV.queueUrl]: z.string().url(),
      [ENV.jobTtlSeconds]: jobTtlSecondsSchema,
      [ENV.authMode]: z.enum(AUTH_MODES).default("none"),
      [ENV.allowedOrigins]: commaList,
      [ENV.maxBodyBytes]: integer(1_024, 6 * 1024 * 1024, DEFAULT_MAX_BODY_BYTES),
      [ENV.callerMaxActiveJobs]: integer(0, 100_000, 0),
      [ENV.callerMaxStartsPerMinute]: integer(0, 100_000, 0),
    },
    env,
  );
  return {
    tableName: parsed[ENV.tableName],
    queueUrl: parsed[ENV.queueUrl],
    jobTtlSeconds: parsed[ENV.jobTtlSeconds],
    authMode: parsed[ENV.authMode],
    allowedOrigins: parsed[ENV.allowedOrigins],
    maxBodyBytes: parsed[ENV.maxBodyBytes],
    callerMaxActiveJobs: parsed[ENV.callerMaxActiveJobs],
    callerMaxStartsPerMinute: parsed[ENV.callerMaxStartsPerMinute],
  };
}
