import type { Log } from "../domain/logger.js";
import type { NotificationMessage } from "../domain/notifications.js";
import type { NotificationStore } from "../domain/ports.js";
import { shortened } from "./deliver-notification.js";

/**
 * A notification message in the notification dead-letter queue: the delivery handler failed on it
 * every time SQS handed it out. Nothing will attempt that delivery again, so its target must not stay
 * `pending`: it ends `failed`, keeping the last error it had, and get_job shows that. A target that
 * already ended (or moved on to a later attempt) is left as it is. Nothing is sent.
 */
export async function settleDeadNotification(
  deps: { readonly store: NotificationStore; readonly log: Log },
  message: NotificationMessage,
  receiveCount: number,
): Promise<void> {
  const context = { jobId: message.jobId, webhookId: message.webhookId, attempt: message.attempt };
  const row = await deps.store.get(message.jobId);
  const index = row?.notifications?.findIndex((target) => target.webhookId === message.webhookId) ?? -1;
  const target = row?.notifications?.[index];
  if (row === undefined || target === undefined || target.status !== "pending") {
    deps.log.info("Dead notification for a delivery that already ended, expired or is unknown", context);
    return;
  }
  const why = `delivery gave up: its message reached the dead-letter queue after ${receiveCount} receives`;
  const lastError =
    target.lastError === undefined ? shortened(why) : `${shortened(target.lastError, 200)}; ${why}`;
  const owned = { index, webhookId: target.webhookId, expectedAttempts: target.attempts };
  if (await deps.store.giveUp(row.id, owned, shortened(lastError))) {
    deps.log.warn("Dead notification: delivery marked failed", { ...context, lastError });
  } else {
    deps.log.info("Dead notification: the delivery moved on meanwhile; left as it is", context);
  }
}
