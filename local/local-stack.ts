import { Logger } from "@aws-lambda-powertools/logger";
import type { AwsCaller } from "../lambdas/shared/adapters/aws-call-policy.js";
import { MemoryJobMetrics } from "../lambdas/shared/adapters/memory-metrics.js";
import type { PortWrappers } from "../lambdas/shared/app/ports.js";
import { type LocalCallPolicy, loadLocalConfig } from "../lambdas/shared/config/config.js";
import { ENV } from "../lambdas/shared/config/env-names.js";
import {
  MCP_FUNCTION_TIMEOUT_SECONDS,
  MCP_PATH,
  WORKER_BATCH_SIZE,
  WORKER_MAX_CONCURRENCY,
} from "../lambdas/shared/config/functions.js";
import {
  NOTIFICATION_BATCH_SIZE,
  NOTIFICATION_FUNCTION_TIMEOUT_SECONDS,
  NOTIFICATION_MAX_CONCURRENCY,
} from "../lambdas/shared/config/notification-queue.js";
import type { Log } from "../lambdas/shared/domain/logger.js";
import type { Clock } from "../lambdas/shared/domain/ports.js";
import {
  createDeadLetterHandler,
  createMcpHandler,
  createWebhookHandler,
  createWorkerHandler,
} from "../lambdas/shared/handlers.js";
import { checkLocalIntegrations } from "../lambdas/shared/integrations/job-types.js";
import type { JobType } from "../lambdas/shared/jobs/job-type.js";
import { JOB_TYPES, jobTypesWith } from "../lambdas/shared/jobs/registry.js";
import type { HttpLambdaHandler } from "../lambdas/shared/mcp/lambda-http.js";
import type { ResolveAll } from "../lambdas/shared/outbound/outbound.js";
import { type LocalAwsClients, type LocalEndpoints, localAwsClients } from "./aws-clients.js";
import { startEmulators } from "./emulators.js";
import { startFunctionUrlServer } from "./function-url-server.js";
import { createJobResources, type JobResourceOptions, type JobResources } from "./resources.js";
import { type DeliveryFaults, type SqsBatchHandler, startSqsPoller } from "./sqs-poller.js";

export interface LocalStackOptions {
  /** Port of the MCP endpoint on 127.0.0.1; 0 picks a free one. Default: 3000. */
  readonly port?: number;
  /** Settings as the deployed functions read them (AUTH_MODE, API_KEYS, CALLER_MAX_…, WORKER_…). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reuse running emulators instead of starting new ones (the tests share one pair). */
  readonly endpoints?: LocalEndpoints;
  /** Name prefix of the table and queues. Default: "local". */
  readonly prefix?: string;
  /** Parallel worker invocations, like the event source's maximum concurrency. Default: as deployed. */
  readonly workerConcurrency?: number;
  /** Messages per worker invocation. Default: as deployed. */
  readonly workerBatchSize?: number;
  /** The job types the MCP handler and the worker serve. Default: the demo job types, as deployed (batch_api checked every BATCH_API_CHECK_SECONDS). */
  readonly jobTypes?: readonly JobType[];
  /** Fault injection: wraps each function's ports as it builds them (the functions' one hook). */
  readonly wrap?: LocalPortWrappers;
  /** The MCP function's clock (the minute's start limit, expiry). Default: the system clock. */
  readonly clock?: Clock;
  /** Fault injection in the SDK clients of each function (middleware), before any call is made. */
  readonly configureClients?: (clients: LocalAwsClients, fn: "mcp" | "worker") => void;
  /** Faults of the worker's event source (duplicate deliveries, abandoned invocations). */
  readonly deliveryFaults?: DeliveryFaults;
  /**
   * Timeouts and retries of the functions' AWS clients. "local" is patient, since the emulators
   * answer slowly on a loaded machine; "deployed" gives each function the budget it has on AWS
   * (aws-call-policy.ts). Default: AWS_CALL_POLICY in `env`, else "local".
   */
  readonly callPolicy?: LocalCallPolicy;
  /** The worker's timeout as the poller plays it. Default: WORKER_TIMEOUT_SECONDS, as deployed. */
  readonly workerTimeoutMs?: number;
  /** Queue settings. Default: as deployed. */
  readonly queue?: Pick<JobResourceOptions, "visibilityTimeoutSeconds" | "maxReceiveCount">;
  /** Told of every worker invocation when it ends: its records and how long it ran (tests, benchmarks). */
  readonly onWorkerInvocation?: (invocation: WorkerInvocation) => void;
  /** Name resolution for webhook deliveries and MCP Events challenges (tests map names to private addresses). Default: DNS. */
  readonly webhookLookup?: ResolveAll;
  readonly log?: Log;
  /** Where every function's job metrics go (instead of EMF on stdout). Default: a new one in memory. */
  readonly metrics?: MemoryJobMetrics;
}

/** Port wrappers per function of the local stack. */
export interface LocalPortWrappers {
  readonly mcp?: PortWrappers;
  readonly worker?: PortWrappers;
  readonly deadLetter?: PortWrappers;
  readonly webhooks?: Pick<PortWrappers, "store">;
}

export interface WorkerInvocation {
  /** The bodies of the records it was given. */
  readonly bodies: readonly string[];
  /** Wall time of the handler, as Lambda would bill it. */
  readonly durationMs: number;
}

export interface LocalStack {
  readonly mcpUrl: string;
  readonly origin: string;
  readonly endpoints: LocalEndpoints;
  readonly resources: JobResources;
  readonly clients: LocalAwsClients;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The job metrics of all the functions, as they would reach CloudWatch (summaryLine reads them). */
  readonly metrics: MemoryJobMetrics;
  /** The AWS call policy the functions run under. */
  readonly callPolicy: LocalCallPolicy;
  stop(): Promise<void>;
}

/** Timing values the local stack keeps for its percentiles; totals are kept whole. */
const LOCAL_METRIC_VALUES_KEPT = 50_000;

/**
 * The whole system on one machine: DynamoDB Local and the SQS emulator, the MCP handler behind a
 * local Function URL, and the worker and dead-letter handlers fed by SQS pollers. The handlers are
 * the deployed ones (the same handler factories), configured from the same environment variables.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? new Logger({ serviceName: "mcp-async-jobs-local", logLevel: "WARN" });
  const metrics = options.metrics ?? new MemoryJobMetrics(LOCAL_METRIC_VALUES_KEPT);
  // A bad integrations file, or a secret it names that is not set, fails before anything starts.
  checkLocalIntegrations(options.env ?? {}, options.jobTypes ?? JOB_TYPES);
  // A bad AWS_CALL_POLICY (or other local setting) fails here too, before anything starts.
  const callPolicy = options.callPolicy ?? loadLocalConfig(options.env ?? {}).callPolicy;
  const emulators = options.endpoints ? undefined : await startEmulators();
  const endpoints: LocalEndpoints = options.endpoints ?? (emulators as LocalEndpoints);
  const stops: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    await emulators?.stop();
  };

  try {
    const clients = localAwsClients(endpoints);
    const callerOf = (deployed: AwsCaller): AwsCaller => (callPolicy === "deployed" ? deployed : "local");
    const mcpClients = localAwsClients(endpoints, callerOf("mcp"));
    const workerClients = localAwsClients(endpoints, callerOf("worker"));
    options.configureClients?.(mcpClients, "mcp");
    options.configureClients?.(workerClients, "worker");
    const resources = await createJobResources(clients, {
      ...options.queue,
      prefix: options.prefix ?? "local",
    });

    let mcpHandler: HttpLambdaHandler | undefined;
    const server = await startFunctionUrlServer({
      port: options.port ?? 3000,
      maxBodyBytes: Number(options.env?.[ENV.maxBodyBytes] ?? 1024 * 1024),
      functionTimeoutMs: MCP_FUNCTION_TIMEOUT_SECONDS * 1000,
      handler: (event, context) => (mcpHandler as HttpLambdaHandler)(event, context),
    });
    stops.push(() => server.close());

    const env: Readonly<Record<string, string | undefined>> = {
      [ENV.tableName]: resources.tableName,
      [ENV.queueUrl]: resources.queueUrl,
      [ENV.resultBucketName]: resources.resultBucketName,
      [ENV.allowedOrigins]: `http://127.0.0.1:${server.port},http://localhost:${server.port}`,
      [ENV.notificationQueueUrl]: resources.notificationQueueUrl,
      [ENV.eventSubscriptionTableName]: resources.subscriptionTableName,
      ...options.env,
    };
    const local = loadLocalConfig(env);
    const jobTypes = options.jobTypes ?? jobTypesWith({ batchApiCheckSeconds: local.batchApiCheckSeconds });
    mcpHandler = await createMcpHandler({
      jobTypes,
      env,
      clients: mcpClients,
      log,
      metrics,
      ...(options.wrap?.mcp !== undefined ? { wrap: options.wrap.mcp } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
      ...(options.webhookLookup !== undefined ? { eventsLookup: options.webhookLookup } : {}),
    });

    const workerTimeoutMs = options.workerTimeoutMs ?? local.workerTimeoutSeconds * 1000;
    const workerEnv = {
      // A short local worker timeout leaves each run a fifth of it as margin unless told otherwise,
      // since the deployed default (5 s) would leave nothing to run with.
      [ENV.deadlineMarginMs]: String(Math.min(5_000, Math.floor(workerTimeoutMs / 5))),
      ...env,
    };
    const workerHandler = createWorkerHandler({
      jobTypes,
      env: workerEnv,
      clients: workerClients,
      log,
      metrics,
      ...(options.wrap?.worker !== undefined ? { wrap: options.wrap.worker } : {}),
    });
    const observe = options.onWorkerInvocation;
    const worker = startSqsPoller({
      sqs: workerClients.sqs,
      queueUrl: resources.queueUrl,
      queueArn: resources.queueArn,
      handler: observe === undefined ? workerHandler : observed(workerHandler, observe),
      concurrency: options.workerConcurrency ?? WORKER_MAX_CONCURRENCY,
      batchSize: options.workerBatchSize ?? WORKER_BATCH_SIZE,
      functionTimeoutMs: workerTimeoutMs,
      ...(options.deliveryFaults ? { faults: options.deliveryFaults } : {}),
      region: endpoints.region,
      onError: (error) => log.error("Worker poller error", { error }),
    });
    stops.push(() => worker.stop());
    // One dead-letter function consumes both dead-letter queues, as deployed.
    const deadLetterHandler = createDeadLetterHandler({
      jobTypes,
      env,
      clients: localAwsClients(endpoints, callerOf("deadLetter")),
      log,
      metrics,
      ...(options.wrap?.deadLetter !== undefined ? { wrap: options.wrap.deadLetter } : {}),
    });
    const deadLetterQueues = [
      { queueUrl: resources.deadLetterQueueUrl, queueArn: resources.deadLetterQueueArn },
      {
        queueUrl: resources.notificationDeadLetterQueueUrl,
        queueArn: resources.notificationDeadLetterQueueArn,
      },
    ];
    for (const queue of deadLetterQueues) {
      const deadLetters = startSqsPoller({
        sqs: clients.sqs,
        ...queue,
        handler: deadLetterHandler,
        functionName: "dead-letter",
        region: endpoints.region,
        onError: (error) => log.error("Dead-letter poller error", { error }),
      });
      stops.push(() => deadLetters.stop());
    }

    // Completion webhooks run only with a secret (npm start generates one).
    if (env[ENV.webhookSecret] !== undefined) {
      const webhooks = await createWebhookHandler({
        env,
        clients: localAwsClients(endpoints, callerOf("webhooks")),
        log,
        metrics,
        ...(options.webhookLookup !== undefined ? { lookup: options.webhookLookup } : {}),
        ...(options.wrap?.webhooks !== undefined ? { wrap: options.wrap.webhooks } : {}),
      });
      const deliveries = startSqsPoller({
        sqs: clients.sqs,
        queueUrl: resources.notificationQueueUrl,
        queueArn: resources.notificationQueueArn,
        handler: webhooks,
        concurrency: NOTIFICATION_MAX_CONCURRENCY,
        batchSize: NOTIFICATION_BATCH_SIZE,
        functionTimeoutMs: NOTIFICATION_FUNCTION_TIMEOUT_SECONDS * 1000,
        functionName: "webhooks",
        region: endpoints.region,
        onError: (error) => log.error("Webhook delivery poller error", { error }),
      });
      stops.push(() => deliveries.stop());
    }

    return {
      mcpUrl: `${server.origin}${MCP_PATH}`,
      origin: server.origin,
      endpoints,
      resources,
      clients,
      env,
      metrics,
      callPolicy,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function observed(
  handler: SqsBatchHandler,
  observe: (invocation: WorkerInvocation) => void,
): SqsBatchHandler {
  return async (event, context) => {
    const started = performance.now();
    try {
      return await handler(event, context);
    } finally {
      observe({
        bodies: event.Records.map((record) => record.body),
        durationMs: performance.now() - started,
      });
    }
  };
}
