import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type AwsCaller, awsClientOptions } from "./adapters/aws-call-policy.js";
import type { ClientSource } from "./adapters/client-on-first-use.js";
import { DynamoJobStore } from "./adapters/dynamo-job-store.js";
import { DynamoNotificationStore } from "./adapters/dynamo-notification-store.js";
import { S3ResultStore, s3ClientOnFirstUse } from "./adapters/s3-result-store.js";
import { SqsJobQueue } from "./adapters/sqs-job-queue.js";
import type { DeadLetterConfig, McpConfig, WorkerConfig } from "./config/config.js";
import { ENV } from "./config/env-names.js";
import type { Log } from "./domain/logger.js";
import type { JobMetrics } from "./domain/metrics.js";
import {
  type Clock,
  type DeadLetterJobStore,
  type JobQueue,
  type JobStore,
  type NotificationStore,
  systemClock,
} from "./domain/ports.js";
import type { JobType } from "./jobs/job-type.js";
import { createJobTypeRegistry, type JobTypeRegistry } from "./jobs/registry.js";
import type { ResultAccess } from "./mcp/result-tools.js";
import type { ResolveAll } from "./outbound/outbound.js";
import { JobService } from "./usecases/job-service.js";
import { createCallbackTargets, createNotificationOutbox } from "./webhook-wiring.js";
import type { WorkerHandlerDeps } from "./worker/sqs-handlers.js";

export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  /** Made on first use by default: only a function that reads or writes a stored result loads the S3 SDK. */
  readonly s3: ClientSource<S3Client>;
}

/**
 * Clients built once per container, with the timeouts and retries of `caller` (see
 * aws-call-policy.ts); endpoints come from the standard AWS_ENDPOINT_URL_* variables.
 */
export function createAwsClients(
  caller: AwsCaller,
  env: Record<string, string | undefined> = process.env,
): AwsClients {
  return {
    dynamo: new DynamoDBClient(awsClientOptions(caller)),
    // With an endpoint override (an emulator), queue URLs may name a host that only the emulator knows.
    sqs: new SQSClient({
      ...awsClientOptions(caller),
      ...(env[ENV.awsEndpointSqs] ? { useQueueUrlAsEndpoint: false } : {}),
    }),
    // An emulator's S3 is reached path-style: bucket names are no host names on 127.0.0.1.
    s3: s3ClientOnFirstUse({
      ...awsClientOptions(caller),
      ...(env[ENV.awsEndpointS3] ? { forcePathStyle: true } : {}),
    }),
  };
}

export interface WiringOptions {
  /** The job types served: each gets a `start_<name>` tool and is run by the worker. */
  readonly jobTypes: readonly JobType[];
  readonly clock?: Clock;
  /** Wraps the real store or queue, e.g. to inject a fault. */
  readonly wrapStore?: (store: JobStore) => JobStore;
  readonly wrapQueue?: (queue: JobQueue) => JobQueue;
  /** Where the use cases and the worker count what they decide. @default none */
  readonly metrics?: JobMetrics;
  /** Name resolution for MCP Events verification challenges (tests map names to private addresses). @default DNS */
  readonly eventsLookup?: ResolveAll;
}

/** The ports and the registry every entry point (Lambda, local stack, tests, benchmarks) runs on. */
export interface JobsWiring {
  readonly store: JobStore;
  readonly queue: JobQueue;
  /** The worker edge's queue (retry delays and delayed checks): the real queue, never wrapped. */
  readonly retries: SqsJobQueue;
  readonly registry: JobTypeRegistry;
  readonly clock: Clock;
}

/** The one place the table, the queue and the job types become ports and a registry. */
export function wireJobs(
  config: { readonly tableName: string; readonly queueUrl: string },
  clients: AwsClients,
  options: WiringOptions,
): JobsWiring {
  const clock = options.clock ?? systemClock;
  const store = new DynamoJobStore({ client: clients.dynamo, tableName: config.tableName, clock });
  const queue = new SqsJobQueue({ client: clients.sqs, queueUrl: config.queueUrl });
  return {
    store: options.wrapStore?.(store) ?? store,
    queue: options.wrapQueue?.(queue) ?? queue,
    retries: queue,
    registry: createJobTypeRegistry(options.jobTypes),
    clock,
  };
}

/** What the MCP server needs: the job service over the wired ports, and the registry it lists tools from. */
export interface McpDeps {
  readonly service: JobService;
  readonly registry: JobTypeRegistry;
  readonly clock: Clock;
  /** How stored results are read and linked. */
  readonly results: ResultAccess;
}

export function createMcpDeps(
  config: McpConfig,
  clients: AwsClients,
  log: Log,
  options: WiringOptions,
): McpDeps {
  const { store, queue, registry, clock } = wireJobs(config, clients, options);
  const service = new JobService({
    store,
    quotas: store,
    queue,
    clock,
    log,
    jobTtlSeconds: config.jobTtlSeconds,
    limits: {
      maxActiveJobs: config.callerMaxActiveJobs,
      maxStartsPerMinute: config.callerMaxStartsPerMinute,
    },
    callbacks: createCallbackTargets(config.callbacks),
    outbox: createNotificationOutbox(clients, config.tableName, config.callbacks, log, clock),
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
  });
  const results: ResultAccess = {
    ...(config.resultBucketName !== undefined
      ? { reader: new S3ResultStore({ client: clients.s3, bucketName: config.resultBucketName }) }
      : {}),
    presignedUrls: config.resultPresignedUrls,
  };
  return { service, registry, clock, results };
}

export function createWorkerDeps(
  config: WorkerConfig,
  clients: AwsClients,
  log: Log,
  options: WiringOptions,
): WorkerHandlerDeps {
  const { store, retries, registry, clock } = wireJobs(config, clients, options);
  return {
    store,
    queue: retries,
    ...(config.resultBucketName !== undefined
      ? { results: new S3ResultStore({ client: clients.s3, bucketName: config.resultBucketName }) }
      : {}),
    registry,
    settings: config,
    clock,
    log,
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
  };
}

export interface DeadLetterDeps {
  readonly store: DeadLetterJobStore;
  /** The job types whose `cancel(state)` a dead-lettered submit/check job gets. */
  readonly registry: JobTypeRegistry;
  readonly log: Log;
  /** Settles the deliveries of the notification dead-letter queue. */
  readonly notifications: NotificationStore;
  readonly metrics?: JobMetrics;
}

export function createDeadLetterDeps(
  config: DeadLetterConfig,
  clients: AwsClients,
  log: Log,
  options: {
    readonly jobTypes?: readonly JobType[];
    readonly wrapStore?: (store: JobStore) => JobStore;
    readonly metrics?: JobMetrics;
  } = {},
): DeadLetterDeps {
  const store = new DynamoJobStore({ client: clients.dynamo, tableName: config.tableName });
  const notifications = new DynamoNotificationStore({
    client: clients.dynamo,
    tableName: config.tableName,
    jobs: store,
  });
  return {
    store: options.wrapStore?.(store) ?? store,
    registry: createJobTypeRegistry(options.jobTypes ?? []),
    log,
    notifications,
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
  };
}
