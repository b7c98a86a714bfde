import type { JobMessage, JobRow } from "../domain/job.js";

/**
 * What the worker core decided for one delivery. The core only decides; the SQS edge
 * (`sqs-handlers.ts`) turns the decision into API calls.
 * - `done`: acknowledge the message (it is deleted); `ended` is the row this delivery's terminal write
 *   returned, so the edge releases what the job owes without reading the row again.
 * - `retryAfter`: deliver this same message again after `seconds` (ChangeMessageVisibility and a
 *   batch item failure).
 * - `checkAfter`: send `message` delayed by `seconds` (chained past SQS's 15-minute limit), then
 *   acknowledge this one.
 */
export type WorkerDecision =
  | { readonly kind: "done"; readonly ended?: JobRow }
  | { readonly kind: "retryAfter"; readonly seconds: number }
  | { readonly kind: "checkAfter"; readonly seconds: number; readonly message: JobMessage };

/** SQS's longest DelaySeconds. */
export const MAX_SQS_DELAY_SECONDS = 900;

export function done(ended?: JobRow): WorkerDecision {
  return ended === undefined ? { kind: "done" } : { kind: "done", ended };
}

export function retryAfter(seconds: number): WorkerDecision {
  return { kind: "retryAfter", seconds: Math.max(0, Math.ceil(seconds)) };
}

export function checkAfter(seconds: number, message: JobMessage): WorkerDecision {
  return { kind: "checkAfter", seconds: Math.max(0, Math.ceil(seconds)), message };
}
