import { Logger } from "@aws-lambda-powertools/logger";
import { type AuthenticatorDeps, createAuthenticator } from "./auth/create-authenticator.js";
import { loadDeadLetterConfig, loadMcpConfig, loadWorkerConfig } from "./config/config.js";
import type { Log } from "./domain/logger.js";
import type { JobType } from "./jobs/job-type.js";
import { createHttpLambdaHandler, type HttpLambdaHandler } from "./mcp/lambda-http.js";
import { createMcpApp, type McpAppOverrides } from "./mcp/mcp-app.js";
import { type AwsClients, createAwsClients, createDeadLetterDeps, createWorkerDeps } from "./wiring.js";
import {
  createSqsDeadLetterHandler,
  createSqsWorkerHandler,
  type SqsBatchHandler,
} from "./worker/sqs-handlers.js";

type Env = Readonly<Record<string, string | undefined>>;

/** What every handler factory takes; all but the job types default to what a deployed function uses. */
export interface HandlerOptions {
  /** The function's settings. @default process.env */
  readonly env?: Env;
  /** @default clients for the AWS endpoints the environment names (createAwsClients) */
  readonly clients?: AwsClients;
  /** @default a Powertools Logger named after the function */
  readonly log?: Log;
}

export interface JobHandlerOptions extends HandlerOptions {
  /** The job types served: each gets a `start_<name>` tool and is run by the worker. */
  readonly jobTypes: readonly JobType[];
}

export interface McpHandlerOptions extends JobHandlerOptions {
  /** How the authenticator reads the API key secret or discovers JWT keys. @default the AWS and global fetch ones */
  readonly authenticator?: Omit<AuthenticatorDeps, "log">;
  /** Time and fault injection, for tests. */
  readonly overrides?: McpAppOverrides;
}

/**
 * The MCP endpoint's Lambda handler (Function URL / HTTP API events). Config, clients and the
 * authenticator are built here, once: await it at module scope so that happens at cold start and a
 * bad setting fails the init, not a request.
 */
export async function createMcpHandler(options: McpHandlerOptions): Promise<HttpLambdaHandler> {
  const env = options.env ?? process.env;
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-mcp" });
  const config = loadMcpConfig(env);
  const authenticator = await createAuthenticator(config, { ...options.authenticator, log });
  return createHttpLambdaHandler(
    createMcpApp(config, options.clients ?? createAwsClients("mcp", env), authenticator, log, {
      ...options.overrides,
      jobTypes: options.jobTypes,
    }),
  );
}

/** The worker's Lambda handler (SQS batches, partial batch responses); config and clients built once. */
export function createWorkerHandler(options: JobHandlerOptions): SqsBatchHandler {
  const env = options.env ?? process.env;
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-worker" });
  const clients = options.clients ?? createAwsClients("worker", env);
  return createSqsWorkerHandler(
    createWorkerDeps(loadWorkerConfig(env), clients, log, { jobTypes: options.jobTypes }),
  );
}

/** The dead-letter queue's Lambda handler: marks the jobs of messages SQS gave up on as failed. */
export function createDeadLetterHandler(options: HandlerOptions = {}): SqsBatchHandler {
  const env = options.env ?? process.env;
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-dead-letter" });
  const clients = options.clients ?? createAwsClients("deadLetter", env);
  return createSqsDeadLetterHandler(createDeadLetterDeps(loadDeadLetterConfig(env), clients, log));
}
