import { JobStateConflictError, UnknownJobTypeError } from "../domain/errors.js";
import type { JobRow } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { DeadLetterJobStore, OpenJobFailer } from "../domain/ports.js";
import { isSubmitCheck } from "../jobs/job-type.js";
import type { JobTypeRegistry } from "../jobs/registry.js";
import { callCancel } from "./cancel-once.js";
import { decodeState } from "./job-state.js";
import { MalformedMessageError, parseJobMessage } from "./worker-deps.js";

/** Calls of a job type's `cancel(state)` the dead-letter settler makes at most, one per delivery. */
export const DEAD_LETTER_CANCEL_CALLS = 3;

/** The error code of a job the settler failed: its external work may still run. */
const DELIVERY_EXHAUSTED = "delivery_exhausted";

/** Milliseconds a cancel call leaves for the writes after it, within the invocation. */
const CANCEL_MARGIN_MS = 2_000;

export interface DeadLetterSettlerDeps {
  /** With `markCancelCalled` and `releaseFailedCancel` the settler also cancels submitted external work. */
  readonly store: OpenJobFailer | DeadLetterJobStore;
  readonly log: Log;
  /** The job types served, to find a submit/check type's `cancel`. @default none: nothing is cancelled */
  readonly registry?: JobTypeRegistry;
}

/** `retry`: a `cancel(state)` call failed and may be made again: the edge has SQS deliver the message again. */
export type DeadLetterOutcome =
  | { readonly kind: "settled" }
  | { readonly kind: "retry"; readonly jobId: string };

/**
 * A message in the dead-letter queue has used all its deliveries. Its job must not stay open:
 * fail it unless it already ended. A submit/check job's external work may still be running with
 * nobody checking on it, so the settler then calls its type's `cancel(state)`, as the worker does
 * when a job gives up: once, fenced by the row's cancel marker (shared with the worker), and after a
 * failed call again on the message's next delivery, up to DEAD_LETTER_CANCEL_CALLS calls in all.
 */
export async function settleDeadLetter(
  deps: DeadLetterSettlerDeps,
  body: string,
  receiveCount: number,
  remainingTimeMs: () => number = () => Number.POSITIVE_INFINITY,
): Promise<DeadLetterOutcome> {
  let jobId: string;
  try {
    jobId = parseJobMessage(body).jobId;
  } catch (error) {
    if (!(error instanceof MalformedMessageError)) throw error;
    deps.log.warn("Dropping a malformed dead letter: it names no job", { error: error.message });
    return { kind: "settled" };
  }
  let ended: JobRow | undefined;
  try {
    ended = await deps.store.failOpen(jobId, {
      code: DELIVERY_EXHAUSTED,
      message: `The job could not be run to an outcome: its message was delivered ${receiveCount} times.`,
      retryable: true,
    });
    deps.log.warn("Dead letter: job marked failed", { jobId });
  } catch (error) {
    if (!(error instanceof JobStateConflictError)) throw error;
    deps.log.info("Dead letter for a job that already ended, expired or is unknown", { jobId });
  }
  if (!("markCancelCalled" in deps.store) || deps.registry === undefined) return { kind: "settled" };
  const store = deps.store;
  // A redelivery after a failed cancel finds the job failed already: read it.
  const job = ended ?? (await store.get(jobId));
  if (job === undefined || !owesCancel(job)) return { kind: "settled" };
  const state = decodeState(job.stateJson);
  let jobType: ReturnType<JobTypeRegistry["get"]>;
  try {
    jobType = deps.registry.get(job.type);
  } catch (error) {
    if (!(error instanceof UnknownJobTypeError)) throw error;
    deps.log.warn("Dead letter for a job type this function does not serve: not cancelled", { jobId });
    return { kind: "settled" };
  }
  if (state === undefined || !isSubmitCheck(jobType) || jobType.cancel === undefined)
    return { kind: "settled" };
  if (!(await store.markCancelCalled(job.id))) return { kind: "settled" };
  try {
    await callCancel(jobType, job, state, Math.min(jobType.timeoutMs, remainingTimeMs() - CANCEL_MARGIN_MS));
    deps.log.info("Dead letter: asked the external service to stop", { jobId });
    return { kind: "settled" };
  } catch (error) {
    if (await store.releaseFailedCancel(job.id, DEAD_LETTER_CANCEL_CALLS)) {
      deps.log.warn("Dead letter: the external cancel failed; it is tried again on the next delivery", {
        jobId,
        error,
      });
      return { kind: "retry", jobId };
    }
    deps.log.error(`Dead letter: the external cancel failed ${DEAD_LETTER_CANCEL_CALLS} times; giving up`, {
      jobId,
      error,
    });
    return { kind: "settled" };
  }
}

/** A job the settler failed, or one cancelled while its check message was dead-lettered, with state kept. */
function owesCancel(job: JobRow): boolean {
  if (job.stateJson === undefined) return false;
  return job.status === "cancelled" || (job.status === "failed" && job.error?.code === DELIVERY_EXHAUSTED);
}
