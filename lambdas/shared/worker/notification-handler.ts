import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { SQSRecord } from "aws-lambda";
import * as z from "zod";
import { type DeliveryMessage, EventMessageSchema } from "../domain/events.js";
import type { Log } from "../domain/logger.js";
import { NotificationMessageSchema } from "../domain/notifications.js";
import type { NotificationQueue, NotificationWait } from "../domain/ports.js";
import { deliverEvent, type EventDeliveryDeps } from "../usecases/deliver-event.js";
import {
  type DeliveryDecision,
  type DeliveryDeps,
  deliverNotification,
} from "../usecases/deliver-notification.js";
import { RetryScheduledError, type SqsBatchHandler } from "./sqs-handlers.js";

export interface NotificationHandlerDeps extends DeliveryDeps {
  /** The notification queue: the next attempt is a new message on it. */
  readonly queue: NotificationQueue & NotificationWait;
  /** MCP Events deliveries; without them an event message is dropped with a warning. */
  readonly events?: EventDeliveryDeps;
}

/**
 * The delivery worker's SQS edge: the core decides (deliverNotification), this acts. A message that
 * came early is made visible again later; a retry is a new, delayed message with the next attempt
 * number, so the receive count stays low and the redrive policy catches only real failures.
 */
export function createNotificationHandler(deps: NotificationHandlerDeps): SqsBatchHandler {
  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(
      event,
      async (record: SQSRecord) => {
        const message = parseDeliveryMessage(record.body, deps.log);
        if (message === undefined) return;
        let decision: DeliveryDecision;
        if ("subscriptionId" in message) {
          if (deps.events === undefined) {
            deps.log.warn("Dropping an event delivery: this function has no subscription table", {
              jobId: message.jobId,
            });
            return;
          }
          decision = await deliverEvent(deps.events, message);
        } else {
          decision = await deliverNotification(deps, message);
        }
        switch (decision.kind) {
          case "done":
            return;
          case "next":
            await deps.queue.send(decision.message, decision.delaySeconds);
            return;
          case "wait":
            await deps.queue.waitFor(record.receiptHandle, decision.seconds);
            throw new RetryScheduledError(record.messageId);
        }
      },
      processor,
      { context, throwOnFullBatchFailure: false },
    );
  };
}

const DeliveryMessageSchema = z.union([EventMessageSchema, NotificationMessageSchema]);

function parseDeliveryMessage(body: string, log: Log): DeliveryMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const parsed = DeliveryMessageSchema.safeParse(json);
  if (!parsed.success) {
    // Redelivering a message that can never parse would only reach the dead-letter queue later.
    log.warn("Dropping a malformed notification message", { issues: z.prettifyError(parsed.error) });
    return undefined;
  }
  return parsed.data;
}
