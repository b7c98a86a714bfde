import { Logger } from "@aws-lambda-powertools/logger";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientOptions } from "./adapters/aws-call-policy.js";
import { PowertoolsJobMetrics } from "./adapters/powertools-metrics.js";
import { createTracer, instrumented, traceClients } from "./adapters/powertools-tracing.js";
import { secretsManagerReader } from "./adapters/secrets-manager.js";
import { type AuthenticatorDeps, createAuthenticator } from "./auth/create-authenticator.js";
import { loadDeadLetterConfig, loadMcpConfig, loadWorkerConfig } from "./config/config.js";
import { loadTelemetryConfig } from "./config/telemetry-config.js";
import { loadDeliveryConfig, loadOutboxConfig } from "./config/webhook-config.js";
import type { Log } from "./domain/logger.js";
import type { JobMetrics } from "./domain/metrics.js";
import type { JobQueue, JobStore, RetryScheduler } from "./domain/ports.js";
import { integrationJobTypesFromEnv } from "./integrations/job-types.js";
import type { JobType } from "./jobs/job-type.js";
import { createHttpLambdaHandler, type HttpLambdaHandler } from "./mcp/lambda-http.js";
import { createMcpApp, type McpAppOverrides } from "./mcp/mcp-app.js";
import type { ResolveAll } from "./outbound/outbound.js";
import {
  createNotificationHandlerDeps,
  createNotificationOutbox,
  loadWebhookSecret,
} from "./webhook-wiring.js";
import { type AwsClients, createAwsClients, createDeadLetterDeps, createWorkerDeps } from "./wiring.js";
import { createNotificationHandler } from "./worker/notification-handler.js";
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
  /** Fault injection in the worker and dead-letter functions (tests, the soak): wraps their ports. */
  readonly ports?: PortOverrides;
  /**
   * Where the job metrics go; flushed at the end of every invocation.
   * @default CloudWatch embedded metrics on stdout (Powertools Metrics, POWERTOOLS_METRICS_NAMESPACE)
   */
  readonly metrics?: JobMetrics;
}

/**
 * A function's metrics and tracer, and its AWS clients traced. Tracing runs only inside Lambda with
 * POWERTOOLS_TRACE_ENABLED not "false"; elsewhere the tracer does nothing.
 */
function telemetryFor(
  serviceName: string,
  options: HandlerOptions,
  env: Env,
): { metrics: JobMetrics; tracer: ReturnType<typeof createTracer> } {
  const config = loadTelemetryConfig(env);
  return {
    metrics: options.metrics ?? PowertoolsJobMetrics.forNamespace(config.metricsNamespace),
    tracer: createTracer(serviceName, config.tracingEnabled),
  };
}

export interface PortOverrides {
  readonly wrapStore?: (store: JobStore) => JobStore;
  /** The worker edge's queue: retry delays and delayed check messages. */
  readonly wrapWorkerQueue?: (queue: RetryScheduler & JobQueue) => RetryScheduler & JobQueue;
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
  const telemetry = telemetryFor("mcp-async-jobs-mcp", options, env);
  const authenticator = await createAuthenticator(config, { ...options.authenticator, log });
  const clients = traceClients(telemetry.tracer, options.clients ?? createAwsClients("mcp", env));
  return instrumented(
    createHttpLambdaHandler(
      createMcpApp(config, clients, authenticator, log, {
        ...options.overrides,
        metrics: telemetry.metrics,
        // INTEGRATIONS_FILE adds a tool per declared API; listing and input checks need no secret.
        jobTypes: [...options.jobTypes, ...integrationJobTypesFromEnv(env, options.jobTypes)],
      }),
    ),
    telemetry,
  );
}

/** The worker's Lambda handler (SQS batches, partial batch responses); config and clients built once. */
export function createWorkerHandler(options: JobHandlerOptions): SqsBatchHandler {
  const env = options.env ?? process.env;
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-worker" });
  const telemetry = telemetryFor("mcp-async-jobs-worker", options, env);
  const clients = traceClients(telemetry.tracer, options.clients ?? createAwsClients("worker", env));
  const config = loadWorkerConfig(env);
  const outbox = outboxFor(env, clients, config.tableName, log);
  // The integrations' secret is read on first use, once per container.
  const readSecret = secretsManagerReader(
    telemetry.tracer.captureAWSv3Client(new SecretsManagerClient(awsClientOptions("worker"))),
  );
  const integrations = integrationJobTypesFromEnv(env, options.jobTypes, readSecret);
  const deps = createWorkerDeps(config, clients, log, {
    jobTypes: [...options.jobTypes, ...integrations],
    metrics: telemetry.metrics,
    ...(options.ports?.wrapStore !== undefined ? { wrapStore: options.ports.wrapStore } : {}),
  });
  const queue = options.ports?.wrapWorkerQueue?.(deps.queue) ?? deps.queue;
  return instrumented(createSqsWorkerHandler({ ...deps, queue }, { outbox }), telemetry);
}

export interface DeadLetterHandlerOptions extends HandlerOptions {
  /**
   * The job types served: a submit/check job whose message SQS gave up on gets its type's
   * `cancel(state)` called. @default none: such jobs are failed without a cancel
   */
  readonly jobTypes?: readonly JobType[];
}

/**
 * The dead-letter queues' Lambda handler: marks the jobs of messages SQS gave up on as failed (and
 * cancels their external work), and ends the deliveries of notification messages SQS gave up on.
 */
export function createDeadLetterHandler(options: DeadLetterHandlerOptions = {}): SqsBatchHandler {
  const env = options.env ?? process.env;
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-dead-letter" });
  const telemetry = telemetryFor("mcp-async-jobs-dead-letter", options, env);
  const clients = traceClients(telemetry.tracer, options.clients ?? createAwsClients("deadLetter", env));
  const config = loadDeadLetterConfig(env);
  const outbox = outboxFor(env, clients, config.tableName, log);
  const wrapStore = options.ports?.wrapStore;
  const deps = createDeadLetterDeps(config, clients, log, {
    jobTypes: options.jobTypes ?? [],
    metrics: telemetry.metrics,
    ...(wrapStore !== undefined ? { wrapStore } : {}),
  });
  return instrumented(createSqsDeadLetterHandler(deps, { outbox }), telemetry);
}

export interface WebhookHandlerOptions extends HandlerOptions {
  /** Name resolution for deliveries (tests map names to private addresses). @default DNS */
  readonly lookup?: ResolveAll;
}

/**
 * The completion-webhook delivery function's handler (the notification queue). The secret is read
 * here, once (WEBHOOK_SECRET, or the stack's secret): await it at module scope.
 */
export async function createWebhookHandler(options: WebhookHandlerOptions = {}): Promise<SqsBatchHandler> {
  const env = options.env ?? process.env;
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-webhooks" });
  const config = loadDeliveryConfig(env);
  const telemetry = telemetryFor("mcp-async-jobs-webhooks", options, env);
  const secret = await loadWebhookSecret(config);
  const clients = traceClients(telemetry.tracer, options.clients ?? createAwsClients("webhooks", env));
  return instrumented(
    createNotificationHandler(
      createNotificationHandlerDeps(config, secret, clients, log, {
        metrics: telemetry.metrics,
        ...(options.lookup !== undefined ? { lookup: options.lookup } : {}),
      }),
    ),
    telemetry,
  );
}

/** The outbox a job-ending handler queues completion webhooks through; undefined without webhooks. */
function outboxFor(
  env: Env,
  clients: AwsClients,
  tableName: string,
  log: Log,
): ReturnType<typeof createNotificationOutbox> {
  return createNotificationOutbox(clients, tableName, loadOutboxConfig(env), log);
}
