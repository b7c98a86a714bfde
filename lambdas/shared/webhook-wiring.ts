import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { awsClientOptions } from "./adapters/aws-call-policy.js";
import { DynamoJobStore } from "./adapters/dynamo-job-store.js";
import { DynamoNotificationStore } from "./adapters/dynamo-notification-store.js";
import { DynamoSubscriptionStore } from "./adapters/dynamo-subscription-store.js";
import { secretsManagerReader } from "./adapters/secrets-manager.js";
import { SqsNotificationQueue } from "./adapters/sqs-notification-queue.js";
import { webhookKey } from "./adapters/standard-webhooks.js";
import { OutboundWebhookSender } from "./adapters/webhook-sender.js";
import type { CallbackConfig, DeliveryConfig, OutboxConfig } from "./config/webhook-config.js";
import type { Log } from "./domain/logger.js";
import type { JobMetrics } from "./domain/metrics.js";
import { type Clock, systemClock } from "./domain/ports.js";
import type { OutboundPolicy } from "./outbound/outbound.js";
import { CallbackTargets } from "./usecases/callback-targets.js";
import type { EventDeliveryDeps } from "./usecases/deliver-event.js";
import { NotificationOutbox } from "./usecases/notification-outbox.js";
import type { NotificationHandlerDeps } from "./worker/notification-handler.js";

/** What a receiver may answer with before the delivery stops reading: the body is never used. */
const MAX_RECEIVER_RESPONSE_BYTES = 64 * 1024;

/** An attempt's lease outlasts its timeout by this much, for signing and the writes around it. */
const ATTEMPT_LEASE_MARGIN_MS = 5_000;

interface Clients {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
}

/** The callback rules the MCP function applies at start. */
export function createCallbackTargets(config: CallbackConfig): CallbackTargets {
  return new CallbackTargets({
    allowedOrigins: config.allowedOrigins,
    ...(config.defaultCallbackUrl !== undefined ? { defaultCallbackUrl: config.defaultCallbackUrl } : {}),
    outbound: { allowLoopback: config.allowLoopback },
  });
}

/** The outbox of every function that ends jobs; undefined when no notification queue is configured. */
export function createNotificationOutbox(
  clients: Clients,
  tableName: string,
  outbox: OutboxConfig,
  log: Log,
  clock: Clock = systemClock,
): NotificationOutbox | undefined {
  const { notificationQueueUrl, subscriptionTableName } = outbox;
  if (notificationQueueUrl === undefined) return undefined;
  const jobs = new DynamoJobStore({ client: clients.dynamo, tableName, clock });
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

/** The webhook secret: WEBHOOK_SECRET locally, the stack's Secrets Manager secret deployed. */
export async function loadWebhookSecret(config: DeliveryConfig): Promise<string> {
  if (config.webhookSecret !== undefined) return config.webhookSecret;
  return secretsManagerReader(new SecretsManagerClient(awsClientOptions("webhooks")))(
    config.webhookSecretArn ?? "",
  );
}

/** Everything the delivery function's handler needs. */
export function createNotificationHandlerDeps(
  config: DeliveryConfig,
  secret: string,
  clients: Clients,
  log: Log,
  options: {
    readonly clock?: Clock;
    readonly lookup?: OutboundPolicy["lookup"];
    readonly metrics?: JobMetrics;
  } = {},
): NotificationHandlerDeps {
  const clock = options.clock ?? systemClock;
  const jobs = new DynamoJobStore({ client: clients.dynamo, tableName: config.tableName, clock });
  const sender = new OutboundWebhookSender({
    key: webhookKey(secret),
    clock,
    policy: {
      allowLoopback: config.allowLoopback,
      maxResponseBytes: MAX_RECEIVER_RESPONSE_BYTES,
      timeoutMs: config.timeoutMs,
      ...(options.lookup !== undefined ? { lookup: options.lookup } : {}),
    },
  });
  const settings = {
    retryDelaysSeconds: config.retryDelaysSeconds,
    maxAttempts: config.maxAttempts,
    attemptLeaseMs: config.timeoutMs + ATTEMPT_LEASE_MARGIN_MS,
  };
  const metrics = options.metrics !== undefined ? { metrics: options.metrics } : {};
  const store = new DynamoNotificationStore({
    client: clients.dynamo,
    tableName: config.tableName,
    jobs,
    clock,
  });
  const events: EventDeliveryDeps | undefined =
    config.subscriptionTableName === undefined
      ? undefined
      : {
          jobs,
          fence: store,
          subscriptions: new DynamoSubscriptionStore({
            client: clients.dynamo,
            tableName: config.subscriptionTableName,
            clock,
          }),
          sender,
          settings,
          clock,
          log,
          ...metrics,
        };
  return {
    store,
    queue: new SqsNotificationQueue({ client: clients.sqs, queueUrl: config.notificationQueueUrl }),
    sender,
    settings,
    clock,
    log,
    ...metrics,
    ...(events !== undefined ? { events } : {}),
  };
}
