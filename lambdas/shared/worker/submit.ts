import type { JobMessage, JobRow } from "../domain/job.js";
import type { SubmitCheckJobType, SubmitOutcome } from "../jobs/job-type.js";
import { afterLostWrite, cancelOnce, tookEffect } from "./cancel-once.js";
import { completeJob } from "./complete-job.js";
import { checkAfter, done, retryAfter, type WorkerDecision } from "./decision.js";
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
 * How long past its due time a recorded check may go unclaimed before its message counts as lost:
 * the delayed message becomes visible at `nextCheckAt` and a worker claims it soon after.
 */
export const LOST_CHECK_GRACE_MS = 15_000;

/**
 * A start or check message whose next check is already recorded. Normally a duplicate. But the
 * delivery that recorded the next check may have failed to send its message (or died right after
 * the write), and that delivery comes back through this very message: so it is never deleted while
 * the next check could still be lost. It is put back until the next check is overdue; if by then no
 * delivery has claimed it, its message was lost and is sent again. A check that was claimed or
 * passed meanwhile makes this message stale, and it is dropped, so copies never multiply.
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
  if (job.status === "running" && job.checkSeq === check + 1 && leaseFree && job.nextCheckAt !== undefined) {
    const overdueAt = job.nextCheckAt + LOST_CHECK_GRACE_MS;
    if (now < overdueAt) {
      const seconds = Math.ceil((overdueAt - now) / 1000);
      deps.log.info("The next check is recorded; looking again once it is overdue", {
        jobId: job.id,
        check: job.checkSeq,
        receiveCount: delivery.receiveCount,
        seconds,
      });
      return retryAfter(seconds);
    }
    deps.log.info("The next check is overdue and unclaimed: its message was lost; sending it again", {
      jobId: job.id,
      check: job.checkSeq,
    });
    return checkAfter(0, { jobId: job.id, type, check: job.checkSeq, dueAt: job.nextCheckAt });
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
