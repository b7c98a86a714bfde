import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoJobStore } from "./adapters/dynamo-job-store.js";
import { SqsJobQueue } from "./adapters/sqs-job-queue.js";
import type { WorkerConfig } from "./config/config.js";
import { ENV } from "./config/env-names.js";
import type { Log } from "./domain/logger.js";
import { type Clock, systemClock } from "./domain/ports.js";
import { createJobTypeRegistry, type JobTypeRegistry } from "./jobs/registry.js";
import type { WorkerDeps } from "./worker/process-delivery.js";

export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
}

/** Clients built once per container; endpoints come from the standard AWS_ENDPOINT_URL_* variables. */
export function createAwsClients(env: Record<string, string | undefined> = process.env): AwsClients {
  return {
    dynamo: new DynamoDBClient({}),
    // With an endpoint override (an emulator), queue URLs may name a host that only the emulator knows.
    sqs: new SQSClient(env[ENV.awsEndpointSqs] ? { useQueueUrlAsEndpoint: false } : {}),
  };
}

export function createWorkerDeps(
  config: WorkerConfig,
  clients: AwsClients,
  log: Log,
  options: { clock?: Clock; registry?: JobTypeRegistry } = {},
): WorkerDeps {
  const clock = options.clock ?? systemClock;
  return {
    store: new DynamoJobStore({ client: clients.dynamo, tableName: config.tableName, clock }),
    retries: new SqsJobQueue({ client: clients.sqs, queueUrl: config.queueUrl }),
    registry: options.registry ?? createJobTypeRegistry(),
    settings: config,
    clock,
    log,
  };
}
