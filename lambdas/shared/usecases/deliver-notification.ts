import type { DeliveryMessage } from "../domain/events.js";
import type { Log } from "../domain/logger.js";
import { count, type JobMetrics, METRIC, noMetrics } from "../domain/metrics.js";
import type { NotificationMessage } from "../domain/notifications.js";
import type { AttemptRecord, Clock, NotificationStore, WebhookSender } from "../domain/ports.js";
import { jobEvent } from "./job-event.js";
import { jobLogFields } from "./job-log.js";

/** SQS delays a message by at most 900 s; longer waits are chained. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

export interface DeliverySettings {
  /** The wait after attempt 1, 2, …; the last one repeats until the job's TTL. */
  readonly retryDelaysSeconds: readonly number[];
  /** Attempts before giving up; 0: until the job's TTL. */
  readonly maxAttempts: number;
  /** How long one worker holds an attempt: longer than the attempt's timeout. */
  readonly attemptLeaseMs: number;
}

export interface DeliveryDeps {
  readonly store: NotificationStore;
  readonly sender: WebhookSender;
  readonly settings: DeliverySettings;
  readonly clock: Clock;
  readonly log: Log;
  /** Attempts are counted by what they came to. @default none */
  readonly metrics?: JobMetrics;
}

/** The metric of each recorded attempt outcome. */
const ATTEMPT_METRIC = {
  delivered: METRIC.webhooksDelivered,
  pending: METRIC.webhookRetries,
  failed: METRIC.webhooksFailed,
} as const;

/**
 * What the SQS edge does with a notification message: `done` (delete it), `wait` (it came before
 * its time: make it visible again after `seconds`), `next` (delete it and send the next attempt).
 */
export type DeliveryDecision =
  | { readonly kind: "done" }
  | { readonly kind: "wait"; readonly seconds: number }
  | { readonly kind: "next"; readonly message: DeliveryMessage; readonly delaySeconds: number };

const DONE: DeliveryDecision = { kind: "done" };

/** Seconds to wait after attempt `attempt` (1-based) before the next one. */
export function retryDelaySeconds(attempt: number, delays: readonly number[]): number {
  return delays[Math.min(attempt, delays.length) - 1] ?? 0;
}

/**
 * Makes one delivery attempt of one event, if it is still owed, and decides what comes next. The
 * row is re-read every time: a delivered or failed target, or an attempt already made, is skipped,
 * so duplicate and stale messages send nothing new. A delivery never touches the job itself.
 */
export async function deliverNotification(
  deps: DeliveryDeps,
  message: NotificationMessage,
): Promise<DeliveryDecision> {
  const { store, clock, log, settings } = deps;
  const now = clock.now();
  if (message.notBefore !== undefined && message.notBefore - now > 1_000) {
    return { kind: "wait", seconds: Math.ceil((message.notBefore - now) / 1000) };
  }
  let context: Record<string, unknown> = {
    jobId: message.jobId,
    webhookId: message.webhookId,
    attempt: message.attempt,
  };
  const row = await store.get(message.jobId);
  if (row !== undefined) context = { ...jobLogFields(row), ...context };
  const index = row?.notifications?.findIndex((target) => target.webhookId === message.webhookId) ?? -1;
  const target = row?.notifications?.[index];
  if (row === undefined || target === undefined) {
    log.info("Notification dropped: its job is unknown or expired", context);
    return DONE;
  }
  if (target.status !== "pending" || target.attempts !== message.attempt - 1) {
    log.info("Notification attempt already made; skipping", { ...context, status: target.status });
    return DONE;
  }
  const event = jobEvent(row);
  if (event === undefined) {
    log.warn("Notification for a job that has not ended; dropping", context);
    return DONE;
  }

  const owned = { index, webhookId: target.webhookId, expectedAttempts: target.attempts };
  // Two messages for one attempt (the outbox may release twice) must not both send.
  if (!(await store.claimAttempt(row.id, owned, settings.attemptLeaseMs))) {
    log.info("Another delivery worker holds this attempt; skipping", context);
    return DONE;
  }
  const outcome = await deps.sender.send(target, JSON.stringify(event));
  let record: AttemptRecord;
  let next: DeliveryDecision = DONE;
  if (outcome.kind === "delivered") {
    record = { status: "delivered" };
  } else if (outcome.kind === "stop") {
    record = { status: "failed", lastError: shortened(outcome.reason) };
  } else {
    const delaySeconds = retryDelaySeconds(message.attempt, settings.retryDelaysSeconds);
    const nextAt = now + delaySeconds * 1000;
    const outOfAttempts = settings.maxAttempts > 0 && message.attempt >= settings.maxAttempts;
    if (outOfAttempts || nextAt >= row.expiresAt * 1000) {
      const plural = message.attempt === 1 ? "" : "s";
      record = {
        status: "failed",
        lastError: `${shortened(outcome.reason, 260)} (gave up after ${message.attempt} attempt${plural})`,
      };
    } else {
      record = { status: "pending", lastError: shortened(outcome.reason) };
      next = {
        kind: "next",
        message: {
          jobId: row.id,
          webhookId: target.webhookId,
          attempt: message.attempt + 1,
          ...(delaySeconds > MAX_QUEUE_DELAY_SECONDS ? { notBefore: nextAt } : {}),
        },
        delaySeconds: Math.min(delaySeconds, MAX_QUEUE_DELAY_SECONDS),
      };
    }
  }

  const recorded = await store.recordAttempt(row.id, owned, record);
  if (!recorded) {
    log.info("Another attempt recorded first; this one stops here", context);
    return DONE;
  }
  count(deps.metrics ?? noMetrics, ATTEMPT_METRIC[record.status]);
  log.info("Notification attempt", { ...context, status: record.status, lastError: record.lastError });
  return next;
}

/** The row keeps at most 300 characters of a reason (a long URL origin could make one longer). */
export function shortened(reason: string, max = 300): string {
  return reason.length <= max ? reason : `${reason.slice(0, max - 1)}…`;
}
