import * as z from "zod";
import { DomainError } from "./errors.js";

/**
 * Completion webhooks: the state of one callback target, kept in the job row beside the job.
 * `pending` until a receiver answers 2xx (`delivered`) or the delivery gives up (`failed`).
 */
export const NOTIFICATION_STATUSES = ["pending", "delivered", "failed"] as const;
export const NotificationStatusSchema = z.enum(NOTIFICATION_STATUSES);
export type NotificationStatus = z.infer<typeof NotificationStatusSchema>;

/** At most the caller's callbackUrl and the deployment's DEFAULT_CALLBACK_URL. */
export const MAX_CALLBACK_TARGETS = 2;

/** A target's place in the row's list, checked: an integer below MAX_CALLBACK_TARGETS, else a RangeError. */
export function checkedTargetIndex(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_CALLBACK_TARGETS) {
    throw new RangeError(`notification target index out of range: ${index}`);
  }
  return index;
}

export const NotificationTargetSchema = z.object({
  /** Standard Webhooks `webhook-id`: one per event, the same on every retry. */
  webhookId: z.string().regex(/^msg_[A-Za-z0-9-]{1,64}$/),
  url: z.string().min(1),
  status: NotificationStatusSchema,
  /** Delivery attempts made so far; every attempt's write is conditional on this count. */
  attempts: z.number().int().nonnegative(),
  /** Why the last attempt did not deliver: short and secret-free (a status code, a timeout, a refusal). */
  lastError: z.string().max(300).optional(),
  lastAttemptAt: z.iso.datetime({ offset: true }).optional(),
  /** Epoch ms until which one delivery worker holds the next attempt, so duplicates send nothing. */
  attemptLeaseUntil: z.number().int().nonnegative().optional(),
});
export type NotificationTarget = z.infer<typeof NotificationTargetSchema>;

/** What get_job shows of the delivery. */
export const NotificationViewSchema = z.object({
  status: NotificationStatusSchema,
  attempts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
});
export type NotificationView = z.infer<typeof NotificationViewSchema>;

/**
 * The view shows the caller's own callback when it gave one (it is listed first), else the
 * deployment's default: the delivery a caller can act on.
 */
export function toNotificationView(
  targets: readonly NotificationTarget[] | undefined,
): NotificationView | undefined {
  const target = targets?.[0];
  if (target === undefined) return undefined;
  return {
    status: target.status,
    attempts: target.attempts,
    ...(target.lastError !== undefined ? { lastError: target.lastError } : {}),
  };
}

/** One delivery attempt of one event: a message on the notification queue. */
export const NotificationMessageSchema = z.object({
  jobId: z.uuid(),
  webhookId: NotificationTargetSchema.shape.webhookId,
  /** The attempt this message makes (1 for the first); a message whose attempt was made already is stale. */
  attempt: z.number().int().positive(),
  /** Epoch ms before which the attempt must not run: waits longer than SQS's 900 s delay are chained. */
  notBefore: z.number().int().nonnegative().optional(),
});
export type NotificationMessage = z.infer<typeof NotificationMessageSchema>;

export const JOB_EVENT_TYPES = ["job.completed", "job.failed", "job.cancelled"] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/** A callbackUrl the server will not call: a tool error at start, nothing created. */
export class CallbackRefusedError extends DomainError {}
