import { DynamoJobStore } from "../adapters/dynamo-job-store.js";
import { DynamoNotificationStore } from "../adapters/dynamo-notification-store.js";
import { DynamoSubscriptionStore } from "../adapters/dynamo-subscription-store.js";
import { SqsJobQueue } from "../adapters/sqs-job-queue.js";
import { SqsNotificationQueue } from "../adapters/sqs-notification-queue.js";
import type { OutboxConfig } from "../config/webhook-config.js";
import type { Log } from "../domain/logger.js";
import type { JobMetrics } from "../domain/metrics.js";
import type { Clock, JobQueue, JobStore, RetryScheduler } from "../domain/ports.js";
import type { JobType } from "../jobs/job-type.js";
import { NotificationOutbox } from "../usecases/notification-outbox.js";
import type { AwsClients } from "./clients.js";

/** The worker edge's queue: the job queue plus retry delays of received messages. */
export type WorkerQueue = RetryScheduler & JobQueue;

/**
 * The one fault hook of every function (tests, the soak): each wrapper receives the real port as the
 * function builds it, and every user of that port in the function gets what the wrapper returns.
 */
export interface PortWrappers {
  /** The job store: the use cases, the worker and the notification outbox alike. */
  readonly store?: (store: JobStore) => JobStore;
  /** The queue a start sends its job message on (the MCP function). */
  readonly queue?: (queue: JobQueue) => JobQueue;
  /** The worker edge's queue: retry delays and delayed check messages. */
  readonly retries?: (queue: WorkerQueue) => WorkerQueue;
}

/** What every composition takes: the function's settings, clients and job types, and the optional rest. */
export interface CompositionInput<Config> {
  readonly config: Config;
  readonly clients: AwsClients;
  readonly log: Log;
  /** The job types served: each gets a `start_<name>` tool and is run by the worker. */
  readonly jobTypes: readonly JobType[];
  /** @default the system clock */
  readonly clock?: Clock;
  /** Where the use cases and the worker count what they decide. @default none */
  readonly metrics?: JobMetrics;
  readonly wrap?: PortWrappers;
}

/** The function's one job store: every user in the function shares it, wrapped once. */
export function jobStore(
  tableName: string,
  clients: AwsClients,
  clock: Clock,
  wrap?: PortWrappers,
): JobStore {
  const store = new DynamoJobStore({ client: clients.dynamo, tableName, clock });
  return wrap?.store?.(store) ?? store;
}

/** The job queue, unwrapped: each function applies the wrapper of the role it uses it in. */
export function jobQueue(queueUrl: string, clients: AwsClients): SqsJobQueue {
  return new SqsJobQueue({ client: clients.sqs, queueUrl });
}

/**
 * The outbox of a function that ends jobs, over that function's own (wrapped) job store; undefined
 * when no notification queue is configured.
 */
export function notificationOutbox(
  outbox: OutboxConfig,
  tableName: string,
  jobs: JobStore,
  clients: AwsClients,
  log: Log,
  clock: Clock,
): NotificationOutbox | undefined {
  const { notificationQueueUrl, subscriptionTableName } = outbox;
  if (notificationQueueUrl === undefined) return undefined;
  return new NotificationOutbox({
    store: new DynamoNotificationStore({ client: clients.dynamo, tableName, jobs, clock }),
    queue: new SqsNotificationQueue({ client: clients.sqs, queueUrl: notificationQueueUrl }),
    log,
    ...(subscriptionTableName !== undefined
      ? {
          subscriptions: new DynamoSubscriptionStore({
            client: clients.dynamo,
            tableName: subscriptionTableName,
            clock,
          }),
        }
      : {}),
  });
}
