import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { awsClientOptions } from "../adapters/aws-call-policy.js";
import { DynamoNotificationStore } from "../adapters/dynamo-notification-store.js";
import { DynamoSubscriptionStore } from "../adapters/dynamo-subscription-store.js";
import { secretsManagerReader } from "../adapters/secrets-manager.js";
import { SqsNotificationQueue } from "../adapters/sqs-notification-queue.js";
import { webhookKey } from "../adapters/standard-webhooks.js";
import { OutboundWebhookSender } from "../adapters/webhook-sender.js";
import type { DeliveryConfig } from "../config/webhook-config.js";
import type { Log } from "../domain/logger.js";
import type { JobMetrics } from "../domain/metrics.js";
import { type Clock, systemClock } from "../domain/ports.js";
import type { ResolveAll } from "../outbound/outbound.js";
import type { EventDeliveryDeps } from "../usecases/deliver-event.js";
import { createNotificationHandler, type NotificationHandlerDeps } from "../worker/notification-handler.js";
import type { SqsBatchHandler } from "../worker/sqs-handlers.js";
import type { AwsClients } from "./clients.js";
import { jobStore, type PortWrappers } from "./ports.js";

/** What a receiver may answer with before the delivery stops reading: the body is never used. */
const MAX_RECEIVER_RESPONSE_BYTES = 64 * 1024;

/** An attempt's lease outlasts its timeout by this much, for signing and the writes around it. */
const ATTEMPT_LEASE_MARGIN_MS = 5_000;

/** The webhook secret: WEBHOOK_SECRET locally, the stack's Secrets Manager secret deployed. */
export async function loadWebhookSecret(config: DeliveryConfig): Promise<string> {
  if (config.webhookSecret !== undefined) return config.webhookSecret;
  return secretsManagerReader(new SecretsManagerClient(awsClientOptions("webhooks")))(
    config.webhookSecretArn ?? "",
  );
}

export interface NotificationsInput {
  readonly config: DeliveryConfig;
  /** The `whsec_…` secret completion webhooks are signed with (loadWebhookSecret). */
  readonly secret: string;
  readonly clients: AwsClients;
  readonly log: Log;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Name resolution for deliveries (tests map names to private addresses). @default DNS */
  readonly lookup?: ResolveAll;
  readonly metrics?: JobMetrics;
  /** Only `store` applies: the job rows the deliveries read and fence. */
  readonly wrap?: Pick<PortWrappers, "store">;
}

/** The delivery function of completion webhooks and MCP Events (the notification queue's consumer). */
export function composeNotifications(input: NotificationsInput): SqsBatchHandler {
  return createNotificationHandler(notificationDeps(input));
}

function notificationDeps(input: NotificationsInput): NotificationHandlerDeps {
  const { config, clients, log } = input;
  const clock = input.clock ?? systemClock;
  const jobs = jobStore(config.tableName, clients, clock, input.wrap);
  const sender = new OutboundWebhookSender({
    key: webhookKey(input.secret),
    clock,
    policy: {
      allowLoopback: config.allowLoopback,
      maxResponseBytes: MAX_RECEIVER_RESPONSE_BYTES,
      timeoutMs: config.timeoutMs,
      ...(input.lookup !== undefined ? { lookup: input.lookup } : {}),
    },
  });
  const settings = {
    retryDelaysSeconds: config.retryDelaysSeconds,
    maxAttempts: config.maxAttempts,
    attemptLeaseMs: config.timeoutMs + ATTEMPT_LEASE_MARGIN_MS,
  };
  const metrics = input.metrics !== undefined ? { metrics: input.metrics } : {};
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
