import { type EventMessage, JOB_FINISHED_EVENT, SUBSCRIPTION_ID_HEADER } from "../domain/events.js";
import type { JobView } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import { count, type JobMetrics, METRIC, noMetrics } from "../domain/metrics.js";
import type {
  Clock,
  EventAttemptFence,
  JobLookup,
  SubscriptionDeliveryStore,
  WebhookSender,
} from "../domain/ports.js";
import { sha256 } from "../domain/sha256.js";
import {
  type DeliveryDecision,
  type DeliverySettings,
  MAX_QUEUE_DELAY_SECONDS,
  retryDelaySeconds,
  shortened,
} from "./deliver-notification.js";
import { jobEvent } from "./job-event.js";
import { jobLogFields } from "./job-log.js";

/** The Events draft's body limit: receivers answer 413 past it. */
export const MAX_EVENT_BODY_BYTES = 256 * 1024;

export interface EventDeliveryDeps {
  readonly jobs: JobLookup;
  readonly subscriptions: SubscriptionDeliveryStore;
  readonly fence: EventAttemptFence;
  readonly sender: WebhookSender;
  readonly settings: DeliverySettings;
  readonly clock: Clock;
  readonly log: Log;
  readonly metrics?: JobMetrics;
}

/** The body of a `job.finished` event (the Events draft's event envelope). */
export interface JobFinishedEvent {
  readonly eventId: string;
  readonly name: typeof JOB_FINISHED_EVENT;
  readonly timestamp: string;
  readonly data: JobView;
}

/** Stable per (subscription, job): the same on every attempt and every release, so receivers dedupe on it. */
export function eventIdOf(subscriptionId: string, jobId: string): string {
  return `evt_${sha256(`${subscriptionId}:${jobId}`).slice(0, 40)}`;
}

/**
 * Makes one attempt of one `job.finished` delivery and decides what comes next. The job and the
 * subscription are read afresh (an unsubscribed or expired subscription gets nothing more); each
 * attempt is fenced in the job's row, so a duplicate or stale message sends nothing; the POST is
 * signed now, with the subscription's secret, so every attempt has a fresh timestamp.
 * 2xx ends it; 410 ends the subscription; 413, a redirect or a refused address end the delivery;
 * anything else is retried on the notification queue's schedule, within the job's lifetime.
 */
export async function deliverEvent(
  deps: EventDeliveryDeps,
  message: EventMessage,
): Promise<DeliveryDecision> {
  const { clock, log, settings } = deps;
  const now = clock.now();
  if (message.notBefore !== undefined && message.notBefore - now > 1_000) {
    return { kind: "wait", seconds: Math.ceil((message.notBefore - now) / 1000) };
  }
  let context: Record<string, unknown> = {
    jobId: message.jobId,
    subscriptionId: message.subscriptionId,
    attempt: message.attempt,
  };
  const row = await deps.jobs.get(message.jobId);
  const event = row === undefined ? undefined : jobEvent(row);
  if (row === undefined || event === undefined) {
    log.info("Event dropped: its job is unknown, expired or still open", context);
    return DONE;
  }
  context = { ...jobLogFields(row), ...context };
  const subscription = await deps.subscriptions.get(row.owner, message.subscriptionId);
  if (subscription === undefined) {
    log.info("Event dropped: the subscription ended or expired", context);
    return DONE;
  }

  const eventId = eventIdOf(subscription.id, row.id);
  const body: JobFinishedEvent = {
    eventId,
    name: JOB_FINISHED_EVENT,
    timestamp: event.timestamp,
    data: event.data,
  };
  const text = JSON.stringify(body);
  if (Buffer.byteLength(text) > MAX_EVENT_BODY_BYTES) {
    log.warn("Event dropped: its body is larger than receivers accept", {
      ...context,
      eventId,
      bytes: Buffer.byteLength(text),
    });
    return DONE;
  }
  // Two messages for one attempt (a release twice, an SQS duplicate) must not both send.
  if (!(await deps.fence.claimEventAttempt(row.id, eventId, message.attempt, settings.attemptLeaseMs))) {
    log.info("Event attempt already made or held by another worker; skipping", { ...context, eventId });
    return DONE;
  }
  const outcome = await deps.sender.send(
    {
      url: subscription.url,
      webhookId: eventId,
      secret: subscription.secret,
      headers: { [SUBSCRIPTION_ID_HEADER]: subscription.id },
    },
    text,
  );
  await deps.fence.settleEventAttempt(row.id, eventId, message.attempt);
  const metrics = deps.metrics ?? noMetrics;
  if (outcome.kind === "delivered") {
    count(metrics, METRIC.webhooksDelivered);
    log.info("Event delivered", { ...context, eventId, status: outcome.status });
    return DONE;
  }
  if (outcome.kind === "stop") {
    count(metrics, METRIC.webhooksFailed);
    log.warn("Event delivery stopped", { ...context, eventId, lastError: shortened(outcome.reason) });
    if (outcome.gone === true) {
      await deps.subscriptions.remove(row.owner, subscription.id);
      log.info("Event subscription ended: its receiver answered 410 Gone", context);
    }
    return DONE;
  }
  const delaySeconds = retryDelaySeconds(message.attempt, settings.retryDelaysSeconds);
  const nextAt = now + delaySeconds * 1000;
  const outOfAttempts = settings.maxAttempts > 0 && message.attempt >= settings.maxAttempts;
  if (outOfAttempts || nextAt >= row.expiresAt * 1000 || nextAt >= subscription.expiresAt * 1000) {
    count(metrics, METRIC.webhooksFailed);
    log.warn("Event delivery gave up", { ...context, eventId, lastError: shortened(outcome.reason) });
    return DONE;
  }
  count(metrics, METRIC.webhookRetries);
  log.info("Event delivery will be retried", { ...context, eventId, lastError: shortened(outcome.reason) });
  return {
    kind: "next",
    message: {
      jobId: row.id,
      subscriptionId: subscription.id,
      attempt: message.attempt + 1,
      ...(delaySeconds > MAX_QUEUE_DELAY_SECONDS ? { notBefore: nextAt } : {}),
    },
    delaySeconds: Math.min(delaySeconds, MAX_QUEUE_DELAY_SECONDS),
  };
}

const DONE: DeliveryDecision = { kind: "done" };
