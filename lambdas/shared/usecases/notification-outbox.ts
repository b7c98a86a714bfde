import { type EventMessage, matchesFilter } from "../domain/events.js";
import { isTerminal, type JobRow } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { NotificationMessage } from "../domain/notifications.js";
import type { NotificationQueue, NotificationStore, SubscriptionLister } from "../domain/ports.js";

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
  /** MCP Events: the subscriptions an ended job's `job.finished` goes to. @default none */
  readonly subscriptions?: SubscriptionLister;
}

/** One `job.finished` delivery per subscription of the job's owner whose filter matches it. */
export async function dueEvents(row: JobRow, subscriptions: SubscriptionLister): Promise<EventMessage[]> {
  if (!isTerminal(row.status) || row.notificationsQueuedAt !== undefined) return [];
  const active = await subscriptions.listActive(row.owner);
  return active
    .filter((subscription) => matchesFilter(subscription.filter, row))
    .map((subscription) => ({ jobId: row.id, subscriptionId: subscription.id, attempt: 1 }));
}

/**
 * Puts an ended job's notifications on the notification queue. The terminal write itself makes
 * them due (an ended row with targets and no `notificationsQueuedAt`), so whoever sees the job
 * ended may release them: the worker and the dead-letter handler before they acknowledge the job
 * message (the job queue is the outbox), `cancel_job` and a failed start at once. Queue first,
 * mark second: a crash in between may send twice but never loses one; deliveries are idempotent per
 * `webhook-id` and every attempt's write is fenced by its attempt number. MCP Events ride along:
 * each subscription of the owner whose filter matches gets one delivery, released and marked with
 * the webhooks (a release twice repeats the same `eventId`, which receivers dedupe on).
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
    const events = this.deps.subscriptions ? await dueEvents(row, this.deps.subscriptions) : [];
    if (due.length === 0 && events.length === 0) return;
    for (const message of [...due, ...events]) await this.deps.queue.send(message, 0);
    await this.deps.store.markNotificationsQueued(row.id);
    this.deps.log.info("Job notifications queued", {
      jobId: row.id,
      status: row.status,
      targets: due.length,
      events: events.length,
    });
  }
}
