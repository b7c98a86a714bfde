import { isTerminal, type JobRow } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { NotificationMessage } from "../domain/notifications.js";
import type { NotificationQueue, NotificationStore } from "../domain/ports.js";

/** The notification messages an ended job still owes: none while it is open or once they are queued. */
export function dueNotifications(row: JobRow): NotificationMessage[] {
  if (!isTerminal(row.status) || row.notificationsQueuedAt !== undefined) return [];
  return (row.notifications ?? [])
    .filter((target) => target.status === "pending")
    .map((target) => ({ jobId: row.id, webhookId: target.webhookId, attempt: target.attempts + 1 }));
}

export interface NotificationOutboxDeps {
  readonly store: NotificationStore;
  readonly queue: NotificationQueue;
  readonly log: Log;
}

/**
 * Puts an ended job's notifications on the notification queue. The terminal write itself makes
 * them due (an ended row with targets and no `notificationsQueuedAt`), so whoever sees the job
 * ended may release them: the worker and the dead-letter handler before they acknowledge the job
 * message (the job queue is the outbox), `cancel_job` and a failed start at once. Queue first,
 * mark second: a crash in between may send twice but never loses one; deliveries are idempotent per
 * `webhook-id` and every attempt's write is fenced by its attempt number.
 */
export class NotificationOutbox {
  constructor(private readonly deps: NotificationOutboxDeps) {}

  /** Releases what the job owes, reading it first (for callers that hold only its id). */
  async settle(jobId: string): Promise<void> {
    const row = await this.deps.store.get(jobId);
    if (row) await this.release(row);
  }

  async release(row: JobRow): Promise<void> {
    const due = dueNotifications(row);
    if (due.length === 0) return;
    for (const message of due) await this.deps.queue.send(message, 0);
    await this.deps.store.markNotificationsQueued(row.id);
    this.deps.log.info("Job notifications queued", {
      jobId: row.id,
      status: row.status,
      targets: due.length,
    });
  }
}
