import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { type EventMessage, EventMessageSchema } from "../domain/events.js";
import { count, type JobMetrics, METRIC } from "../domain/metrics.js";
import { type NotificationMessage, NotificationMessageSchema } from "../domain/notifications.js";
import type { JobQueue, NotificationStore, RetryScheduler } from "../domain/ports.js";
import type { NotificationOutbox } from "../usecases/notification-outbox.js";
import { settleDeadNotification } from "../usecases/settle-dead-notification.js";
import { MAX_SQS_DELAY_SECONDS, type WorkerDecision } from "./decision.js";
import { deadLetterScope, deliveryScope } from "./delivery-scope.js";
import { processDelivery } from "./process-delivery.js";
import { type DeadLetterSettlerDeps, settleDeadLetter } from "./settle-dead-letter.js";
import { MalformedMessageError, parseJobMessage, type WorkerDeps } from "./worker-deps.js";

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Reported for a record whose message SQS should deliver again after the delay the worker set. */
export class RetryScheduledError extends Error {
  constructor(readonly jobId: string) {
    super(`Job ${jobId}: retry scheduled`);
    this.name = "RetryScheduledError";
  }
}

/** Reported for a dead letter whose job's `cancel(state)` failed and is to be called again on its next delivery. */
export class CancelRetryError extends Error {
  constructor(readonly jobId: string) {
    super(`Job ${jobId}: cancel failed; retried on the next delivery`);
    this.name = "CancelRetryError";
  }
}

/**
 * When a delivery fails unexpectedly (the store timed out, throttling outlasted the retries), its
 * outcome is not recorded. Left alone the message would stay invisible for the queue's visibility
 * timeout (six worker timeouts), and the job would read `running` that long: bring it back soon.
 */
export const UNRECORDED_RETRY_SECONDS = 20;

function receiveCount(record: SQSRecord): number {
  return Number.parseInt(record.attributes.ApproximateReceiveCount, 10) || 1;
}

/** The worker core's ports plus the job queue, which only this edge uses. */
export interface WorkerHandlerDeps extends WorkerDeps {
  /** The worker's own job queue: retry delays of a received message, and delayed check messages. */
  readonly queue: RetryScheduler & JobQueue;
  /** Outcomes, retries and unrecorded deliveries are counted here. @default none */
  readonly metrics?: JobMetrics;
}

/** The worker: each record is one delivery; failed records go back to SQS (partial batch response). */
/**
 * Completion webhooks: before a job message is acknowledged, the notifications its ended job owes
 * go onto the notification queue. Until then the job message stays, so it is their outbox.
 */
export interface JobEdgeOptions {
  readonly outbox?: NotificationOutbox;
}

export function createSqsWorkerHandler(
  deps: WorkerHandlerDeps,
  options: JobEdgeOptions = {},
): SqsBatchHandler {
  return async (event, context) => {
    // One processor per invocation: it keeps per-batch state, and local runs invoke concurrently.
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        try {
          const decision = await processDelivery(deliveryScope(deps, record.body, deps.metrics), {
            body: record.body,
            receiveCount: receiveCount(record),
            remainingTimeMs: () => context.getRemainingTimeInMillis(),
            ...sentAt(record),
          });
          await act(deps.queue, record, decision);
          // Reached only when the record is acknowledged (a retry throws): release what an ended job
          // owes, from the row this delivery ended it with, else as the store has it now. A check
          // sent on (`checkAfter`) leaves its job open: nothing is owed yet.
          if (decision.kind === "done") {
            if (decision.ended !== undefined) await options.outbox?.release(decision.ended);
            else await options.outbox?.settle(parseJobMessage(record.body).jobId);
          }
        } catch (error) {
          // A scheduled retry has set its own visibility; a malformed message goes to the DLQ as is.
          const expected = error instanceof RetryScheduledError || error instanceof MalformedMessageError;
          if (!expected) await comeBackSoon(deps, record, error);
          throw error;
        }
      },
      processor,
      { context, throwOnFullBatchFailure: false },
    );
  };
}

function sentAt(record: SQSRecord): { sentAtMs?: number } {
  const sentAtMs = Number.parseInt(record.attributes.SentTimestamp, 10);
  return Number.isFinite(sentAtMs) ? { sentAtMs } : {};
}

/** Best effort: if this fails too, SQS still redelivers after the visibility timeout. */
async function comeBackSoon(deps: WorkerHandlerDeps, record: SQSRecord, error: unknown): Promise<void> {
  if (deps.metrics) count(deps.metrics, METRIC.unrecordedDeliveries);
  deps.log.error("Delivery failed before its outcome was recorded; it comes back soon", {
    messageId: record.messageId,
    delaySeconds: UNRECORDED_RETRY_SECONDS,
    error,
  });
  try {
    await deps.queue.retryAfter(record.receiptHandle, UNRECORDED_RETRY_SECONDS);
  } catch (failure) {
    deps.log.warn("Could not shorten the message's visibility", {
      messageId: record.messageId,
      error: failure,
    });
  }
}

/** Turns the core's decision into SQS calls; a throw reports the record in batchItemFailures. */
async function act(
  queue: RetryScheduler & JobQueue,
  record: SQSRecord,
  decision: WorkerDecision,
): Promise<void> {
  switch (decision.kind) {
    case "done":
      return;
    case "retryAfter":
      await queue.retryAfter(record.receiptHandle, decision.seconds);
      throw new RetryScheduledError(record.messageId);
    case "checkAfter":
      // Longer waits chain: the message carries its due time, and the core passes it on until then.
      // If this send fails, the record fails and comes back soon (comeBackSoon) to send it again.
      await queue.send(decision.message, {
        delaySeconds: Math.min(decision.seconds, MAX_SQS_DELAY_SECONDS),
      });
      return;
  }
}

/**
 * The dead-letter queues' consumer: settles each job whose job message SQS gave up on and, when it
 * is given the notification store, each completion webhook whose delivery message SQS gave up on.
 */
export function createSqsDeadLetterHandler(
  deps: DeadLetterSettlerDeps & {
    /** Settles the notification dead-letter queue's messages; without it they are job messages only. */
    readonly notifications?: NotificationStore;
    readonly metrics?: JobMetrics;
  },
  options: JobEdgeOptions = {},
): SqsBatchHandler {
  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const event = eventMessageOf(record.body);
        if (event !== undefined) {
          // An event delivery keeps no state to settle: it ends here, as it would after its last attempt.
          deps.log.warn("Dead event delivery: dropped", {
            jobId: event.jobId,
            subscriptionId: event.subscriptionId,
            attempt: event.attempt,
          });
          return;
        }
        const notification = deps.notifications && notificationMessageOf(record.body);
        if (deps.notifications !== undefined && notification !== undefined) {
          const settleDeps = { store: deps.notifications, log: deps.log };
          await settleDeadNotification(settleDeps, notification, receiveCount(record));
          return;
        }
        const outcome = await settleDeadLetter(
          deadLetterScope(deps, record.body, deps.metrics),
          record.body,
          receiveCount(record),
          () => context.getRemainingTimeInMillis(),
        );
        const jobId = jobIdOf(record.body);
        if (jobId !== undefined) await options.outbox?.settle(jobId);
        // SQS delivers the message again after the dead-letter queue's visibility timeout.
        if (outcome.kind === "retry") throw new CancelRetryError(outcome.jobId);
      },
      processor,
      { context, throwOnFullBatchFailure: false },
    );
  };
}

/** A delivery message of the notification queue (it names a webhook), or undefined for a job message. */
function notificationMessageOf(body: string): NotificationMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = NotificationMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** An MCP Events delivery message of the notification queue (it names a subscription). */
function eventMessageOf(body: string): EventMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = EventMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

function jobIdOf(body: string): string | undefined {
  try {
    return parseJobMessage(body).jobId;
  } catch {
    return undefined;
  }
}
