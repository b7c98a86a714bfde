import * as z from "zod";
import { isTerminal, type JobError, type JobRow, ProgressSchema } from "../domain/job.js";
import type { PendingCheck } from "../domain/ports.js";
import type { CheckOutcome, JobState, SubmitCheckJobType } from "../jobs/job-type.js";
import { failureDelaySeconds, retryAfterOf } from "./backoff.js";
import { afterLostWrite, cancelOnce, tookEffect } from "./cancel-once.js";
import { completeJob } from "./complete-job.js";
import { checkAfter, done, retryAfter, type WorkerDecision } from "./decision.js";
import { decodeState, encodeState } from "./job-state.js";
import { newClaimToken, patientRunStore } from "./patience.js";
import { isLastChance, lenient, runWithDeadline, timeoutError, toJobError } from "./run-kit.js";
import { type CheckMessage, nextDelaySeconds, resendLostCheck } from "./submit.js";
import { type Delivery, isLostToAnother, RunAbort, type WorkerDeps } from "./worker-deps.js";

/** A check message due within this much is checked now rather than delayed again. */
const DUE_SLACK_MS = 1_000;

const EstimatedCompletionSchema = z.iso.datetime({ offset: true });

/**
 * One check of a submitted job. Only the delivery that holds check `message.check` may call the
 * job type and write, so duplicate, stale and out-of-order check messages change nothing.
 */
export async function processCheck(
  deps: WorkerDeps,
  delivery: Delivery,
  message: CheckMessage,
  jobType: SubmitCheckJobType,
): Promise<WorkerDecision> {
  // The claim and the outcome writes outlast a store that stalls for a while (WORKER_STORE_PATIENCE_MS).
  deps = { ...deps, store: patientRunStore(deps, delivery) };
  const { store, settings, clock, log } = deps;
  const now = clock.now();
  if (message.dueAt !== undefined && message.dueAt - now > DUE_SLACK_MS) {
    // A wait longer than SQS's 15-minute delay: pass the message on without touching the row.
    return checkAfter((message.dueAt - now) / 1000, message);
  }
  const context = { jobId: message.jobId, type: message.type, check: message.check };
  const claim = await store.claimCheck(message.jobId, message.check, settings.leaseMs, newClaimToken());
  if (!claim.claimed) return settleUnclaimedCheck(deps, delivery, message, jobType, claim.job);
  const budgetMs = Math.min(jobType.timeoutMs, delivery.remainingTimeMs() - settings.deadlineMarginMs);

  const job = claim.job;
  const fence = { check: message.check, attempt: job.attempt };
  const state = decodeState(job.stateJson);
  if (state === undefined) {
    const failed = await lenient(deps, job, "fail", () =>
      store.fail(
        job.id,
        job.attempt,
        {
          code: "invalid_state",
          message: "The job's stored state is missing or unreadable.",
          retryable: false,
        },
        fence.check,
      ),
    );
    return done(failed);
  }

  if (job.deadlineAt !== undefined && now >= job.deadlineAt) {
    const error: JobError = {
      code: "deadline_exceeded",
      message: `The job ran past its longest allowed duration (${jobType.maxDurationSeconds} s after its submit).`,
      retryable: false,
    };
    log.info("Deadline passed; failing the job and cancelling its external work", context);
    const failed = await lenient(deps, job, "fail", () =>
      store.fail(job.id, job.attempt, error, fence.check),
    );
    if (failed) {
      await cancelOnce(deps, delivery, job, jobType, state);
      return done(failed);
    }
    return afterLostWrite(deps, delivery, job.id, jobType, state);
  }

  let outcome: CheckOutcome;
  try {
    if (budgetMs <= 0) throw new RunAbort("timeout");
    outcome = await runWithDeadline(deps, job, budgetMs, (runContext) => jobType.check(state, runContext));
  } catch (error) {
    if (error instanceof RunAbort && isLostToAnother(error)) {
      return afterLostWrite(deps, delivery, job.id, jobType, state);
    }
    const jobError = budgetMs <= 0 ? timeoutError(0) : toJobError(error, budgetMs, log, context);
    return recordCheckFailure(
      deps,
      delivery,
      job,
      jobType,
      fence.check,
      state,
      jobError,
      retryAfterOf(error),
    );
  }

  if ("done" in outcome) {
    const completion = await completeJob(deps, job, outcome.done, fence.check);
    if (completion.kind === "unstored") {
      return recordCheckFailure(deps, delivery, job, jobType, fence.check, state, completion.error);
    }
    return completion.kind === "moved_on"
      ? afterLostWrite(deps, delivery, job.id, jobType, state)
      : done(completion.row);
  }
  if ("failed" in outcome) {
    // The external work itself failed: the job ends with its error, whatever its retryable flag says.
    const written = await lenient(deps, job, "fail", () =>
      store.fail(job.id, job.attempt, outcome.failed, fence.check),
    );
    return written ? done(written) : afterLostWrite(deps, delivery, job.id, jobType, state);
  }

  const pending = outcome.pending;
  let stateJson: string | undefined;
  if (pending.state !== undefined) {
    const encoded = encodeState(pending.state);
    if (typeof encoded !== "string") {
      const failed = await lenient(deps, job, "fail", () =>
        store.fail(job.id, job.attempt, encoded, fence.check),
      );
      // The newest state names the work best, though it is too large to keep.
      if (failed) await cancelOnce(deps, delivery, job, jobType, pending.state);
      return done(failed);
    }
    stateJson = encoded;
  }
  const progress = forwardProgress(deps, job, pending.progress);
  const estimated = EstimatedCompletionSchema.safeParse(pending.estimatedCompletion);
  if (pending.estimatedCompletion !== undefined && !estimated.success) {
    log.warn("Dropping an estimatedCompletion that is not ISO 8601", context);
  }
  const checkedAt = clock.now();
  const delaySeconds = nextDelaySeconds(pending.checkAfterSeconds, jobType, checkedAt, job.deadlineAt);
  const record: PendingCheck = {
    nextCheckAt: checkedAt + delaySeconds * 1000,
    ...(stateJson !== undefined ? { stateJson } : {}),
    ...(progress !== undefined ? { progress } : {}),
    ...(estimated.success ? { estimatedCompletion: estimated.data } : {}),
  };
  const written = await lenient(deps, job, `record check ${fence.check}`, () =>
    store.recordCheck(job.id, fence, record),
  );
  const ownWrite = (row: JobRow): boolean =>
    row.checkSeq === fence.check + 1 && row.nextCheckAt === record.nextCheckAt;
  if (!written && !(await tookEffect(deps, job, ownWrite))) {
    return afterLostWrite(deps, delivery, job.id, jobType, pending.state ?? state);
  }
  return checkAfter(delaySeconds, {
    jobId: job.id,
    type: job.type,
    check: fence.check + 1,
    dueAt: record.nextCheckAt,
  });
}

async function settleUnclaimedCheck(
  deps: WorkerDeps,
  delivery: Delivery,
  message: CheckMessage,
  jobType: SubmitCheckJobType,
  job: JobRow | undefined,
): Promise<WorkerDecision> {
  if (!job || job.expiresAt * 1000 <= deps.clock.now()) {
    deps.log.info("Nothing to check: the job is unknown or expired", { jobId: message.jobId });
    return done();
  }
  if (job.status === "cancelled") {
    const state = decodeState(job.stateJson);
    if (state !== undefined) await cancelOnce(deps, delivery, job, jobType, state);
    return done();
  }
  if (isTerminal(job.status)) return done();
  const now = deps.clock.now();
  const leaseLeftMs = (job.leaseExpiresAt ?? 0) - now;
  if (job.checkSeq === message.check && leaseLeftMs > 0) {
    // This very check is claimed by another delivery of this message, which may yet die with it or
    // fail to send the next check: deleting the message now would leave nothing to bring it back.
    // Look again once that lease lapses (a live run renews it or records the check first).
    const leaseLeftSeconds = Math.ceil(leaseLeftMs / 1000) + 1;
    deps.log.info("Check is held by another delivery; checking again after its lease", {
      jobId: job.id,
      check: message.check,
      leaseLeftSeconds,
    });
    return retryAfter(leaseLeftSeconds);
  }
  return resendLostCheck(deps, delivery, job, message.type, message.check);
}

async function recordCheckFailure(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow,
  jobType: SubmitCheckJobType,
  check: number,
  state: JobState,
  error: JobError,
  /** The API's own Retry-After; it replaces the backoff, up to the backoff maximum. */
  retryAfterSeconds?: number,
): Promise<WorkerDecision> {
  const { store, settings, log } = deps;
  if (!error.retryable || isLastChance(deps, delivery, job, jobType)) {
    const final = error.retryable
      ? { ...error, message: `${error.message} Gave up after ${job.attempt} attempts.` }
      : error;
    const failed = await lenient(deps, job, "fail", () => store.fail(job.id, job.attempt, final, check));
    if (failed) {
      // The external work may still be running and billing: ask it to stop.
      await cancelOnce(deps, delivery, job, jobType, state);
      return done(failed);
    }
    return afterLostWrite(deps, delivery, job.id, jobType, state);
  }
  const delaySeconds = failureDelaySeconds(job.attempt, settings, retryAfterSeconds);
  const released = await lenient(deps, job, "release the check for a retry", () =>
    store.retryCheck(job.id, { check, attempt: job.attempt }, error),
  );
  const ownRelease = (row: JobRow): boolean =>
    row.checkSeq === check && row.attempt === job.attempt + 1 && row.leaseExpiresAt === 0;
  if (!released && !(await tookEffect(deps, job, ownRelease, job.attempt + 1))) {
    return afterLostWrite(deps, delivery, job.id, jobType, state);
  }
  log.info("Check failed transiently; retrying it", { jobId: job.id, attempt: job.attempt, check, error });
  return retryAfter(delaySeconds);
}

/** Progress only moves forward, and a row must always parse: anything else is dropped. */
function forwardProgress(
  deps: WorkerDeps,
  job: JobRow,
  progress: unknown,
): z.infer<typeof ProgressSchema> | undefined {
  if (progress === undefined) return undefined;
  const valid = ProgressSchema.safeParse(progress);
  if (!valid.success) {
    deps.log.warn("Dropping invalid progress", { jobId: job.id, issues: valid.error.issues });
    return undefined;
  }
  if (job.progress !== undefined && valid.data.current < job.progress.current) return undefined;
  return valid.data;
}
