import { S3ResultStore } from "../adapters/s3-result-store.js";
import type { WorkerConfig } from "../config/config.js";
import type { OutboxConfig } from "../config/webhook-config.js";
import { systemClock } from "../domain/ports.js";
import { createJobTypeRegistry } from "../jobs/registry.js";
import type { NotificationOutbox } from "../usecases/notification-outbox.js";
import {
  createSqsWorkerHandler,
  type SqsBatchHandler,
  type WorkerHandlerDeps,
} from "../worker/sqs-handlers.js";
import { type CompositionInput, jobQueue, jobStore, notificationOutbox } from "./ports.js";

export interface WorkerInput extends CompositionInput<WorkerConfig> {
  /** Where the notifications of the jobs it ends go. @default none */
  readonly outbox?: OutboxConfig;
}

/** The worker function: its handler, and the ports it runs on (as wrapped) for those who drive it. */
export interface WorkerFunction {
  readonly handler: SqsBatchHandler;
  readonly deps: WorkerHandlerDeps;
  readonly outbox?: NotificationOutbox;
}

/** Everything the worker function needs, built once from its config. */
export function composeWorker(input: WorkerInput): WorkerFunction {
  const { config, clients, log, wrap } = input;
  const clock = input.clock ?? systemClock;
  const store = jobStore(config.tableName, clients, clock, wrap);
  const queue = jobQueue(config.queueUrl, clients);
  const deps: WorkerHandlerDeps = {
    store,
    queue: wrap?.retries?.(queue) ?? queue,
    ...(config.resultBucketName !== undefined
      ? { results: new S3ResultStore({ client: clients.s3, bucketName: config.resultBucketName }) }
      : {}),
    registry: createJobTypeRegistry(input.jobTypes),
    settings: config,
    clock,
    log,
    ...(input.metrics !== undefined ? { metrics: input.metrics } : {}),
  };
  const outbox =
    input.outbox && notificationOutbox(input.outbox, config.tableName, store, clients, log, clock);
  return {
    handler: createSqsWorkerHandler(deps, outbox !== undefined ? { outbox } : {}),
    deps,
    ...(outbox !== undefined ? { outbox } : {}),
  };
}
