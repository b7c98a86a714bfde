import { DynamoNotificationStore } from "../adapters/dynamo-notification-store.js";
import type { DeadLetterConfig } from "../config/config.js";
import type { OutboxConfig } from "../config/webhook-config.js";
import { systemClock } from "../domain/ports.js";
import { createJobTypeRegistry } from "../jobs/registry.js";
import { createSqsDeadLetterHandler, type SqsBatchHandler } from "../worker/sqs-handlers.js";
import { type CompositionInput, jobStore, notificationOutbox } from "./ports.js";

export interface DeadLetterInput extends CompositionInput<DeadLetterConfig> {
  /** Where the notifications of the jobs it ends go. @default none */
  readonly outbox?: OutboxConfig;
}

/**
 * The dead-letter function: marks the jobs of messages SQS gave up on as failed (a submit/check job
 * gets its type's `cancel(state)`), and ends the deliveries of notification messages SQS gave up on.
 */
export function composeDeadLetter(input: DeadLetterInput): SqsBatchHandler {
  const { config, clients, log, wrap } = input;
  const clock = input.clock ?? systemClock;
  const store = jobStore(config.tableName, clients, clock, wrap);
  const outbox =
    input.outbox && notificationOutbox(input.outbox, config.tableName, store, clients, log, clock);
  return createSqsDeadLetterHandler(
    {
      store,
      registry: createJobTypeRegistry(input.jobTypes),
      log,
      notifications: new DynamoNotificationStore({
        client: clients.dynamo,
        tableName: config.tableName,
        jobs: store,
        clock,
      }),
      ...(input.metrics !== undefined ? { metrics: input.metrics } : {}),
    },
    outbox !== undefined ? { outbox } : {},
  );
}
