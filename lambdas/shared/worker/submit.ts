import type { JobMessage, JobRow } from "../domain/job.js";
import type { SubmitCheckJobType, SubmitOutcome } from "../jobs/job-type.js";
import { afterLostWrite, cancelOnce, tookEffect } from "./cancel-once.js";
import { completeJob } from "./complete-job.js";
import { checkAfter, done, type WorkerDecision } from "./decision.js";
import { encodeState } from "./job-state.js";
import { lenient, recordFailure } from "./run-kit.js";
import type { Delivery, WorkerDeps } from "./worker-deps.js";

/** A job message that asks for check number `check` of a submitted job. */
export type CheckMessage = JobMessage & { readonly check: number };

/** The deadline stays this far inside the TTL, so the job fails visibly before its row expires. */
const TTL_MARGIN_MS = 60_000;

/**
 * After a submit: a result completes the job at once; a state is stored (bounded) with the first
 * check time, and the decision asks the edge to send check number 1, delayed.
 */
export async function afterSubmit(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow,
  jobType: SubmitCheckJobType,
  outcome: SubmitOutcome,
): Promise<WorkerDecision> {
  if ("result" in outcome) {
    const completion = await completeJob(deps, job, outcome.result);
    if (completion.kind === "unstored") return recordFailure(deps, delivery, job, jobType, completion.error);
    return completion.kind === "completed" ? done(completion.row) : done();
  }
  const encoded = encodeState(outcome.state);
  if (typeof encoded !== "string") {
    // The external work was started: ask it to stop, since this job can never check on it.
    const failed = await lenient(deps, job, "fail", () => deps.store.fail(job.id, job.attempt, encoded));
    if (failed) await cancelOnce(deps, delivery, job, jobType, outcome.state);
    return done(failed);
  }
  const now = deps.clock.now();
  const deadlineAt = Math.min(now + jobType.maxDurationSeconds * 1000, job.expiresAt * 1000 - TTL_MARGIN_MS);
  const delaySeconds = nextDelaySeconds(
    outcome.checkAfterSeconds ?? jobType.pollAfterSeconds,
    jobType,
    now,
    deadlineAt,
  );
  const nextCheckAt = now + delaySeconds * 1000;
  const recorded = await lenient(deps, job, "record the submit", () =>
    deps.store.recordSubmit(job.id, job.attempt, { stateJson: encoded, nextCheckAt, deadlineAt }),
  );
  if (!recorded && !(await tookEffect(deps, job, (row) => row.checkSeq === 1 && row.stateJson === encoded))) {
    return afterLostWrite(deps, delivery, job.id, jobType, outcome.state);
  }
  deps.log.info("Submitted; first check scheduled", { jobId: job.id, delaySeconds });
  return checkAfter(delaySeconds, { jobId: job.id, type: job.type, check: 1, dueAt: nextCheckAt });
}

/**
 * A start or check message whose next check is already recorded. Normally a duplicate: nothing to
 * do. But a redelivery may mean that the send of the next check failed after the row was written,
 * and then nothing else would ever check the job: send that check again. Duplicates it makes are
 * harmless, since only one delivery can hold a check; and a first delivery never re-sends, so
 * duplicates never multiply.
 */
export function resendLostCheck(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow,
  type: string,
  check: number,
): WorkerDecision {
  const now = deps.clock.now();
  const leaseFree = (job.leaseExpiresAt ?? 0) < now;
  if (
    delivery.receiveCount > 1 &&
    job.status === "running" &&
    job.checkSeq === check + 1 &&
    leaseFree &&
    job.nextCheckAt !== undefined
  ) {
    deps.log.info("Redelivered after its next check was recorded; sending that check again", {
      jobId: job.id,
      check: job.checkSeq,
    });
    return checkAfter((job.nextCheckAt - now) / 1000, {
      jobId: job.id,
      type,
      check: job.checkSeq,
      dueAt: job.nextCheckAt,
    });
  }
  deps.log.info("Nothing to do: a duplicate or stale message", {
    jobId: job.id,
    status: job.status,
    checkSeq: job.checkSeq,
    messageCheck: check,
  });
  return done();
}

/** Seconds until the next check: at least 1, and never past the deadline (so it fires on time). */
export function nextDelaySeconds(
  requested: number,
  jobType: SubmitCheckJobType,
  now: number,
  deadlineAt: number | undefined,
): number {
  const wanted = Number.isFinite(requested) && requested > 0 ? requested : jobType.pollAfterSeconds;
  let seconds = Math.max(1, Math.ceil(wanted));
  if (deadlineAt !== undefined)
    seconds = Math.min(seconds, Math.max(1, Math.ceil((deadlineAt - now) / 1000)));
  return seconds;
}
