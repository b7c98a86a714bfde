import * as z from "zod";
import {
  isTerminal,
  JOB_STATE_MAX_BYTES,
  type JobError,
  type JobMessage,
  type JobRow,
  ProgressSchema,
} from "../domain/job.js";
import type { PendingCheck } from "../domain/ports.js";
import type { CheckOutcome, JobState, SubmitCheckJobType, SubmitOutcome } from "../jobs/job-type.js";
import { failureDelaySeconds, retryAfterOf } from "./backoff.js";
import { completeJob } from "./complete-job.js";
import { checkAfter, done, retryAfter, type WorkerDecision } from "./decision.js";
import { newClaimToken, patientRunStore } from "./patience.js";
import {
  isLastChance,
  lenient,
  recordFailure,
  runWithDeadline,
  timeoutError,
  toJobError,
} from "./run-kit.js";
import { type Delivery, isLostToAnother, RunAbort, type WorkerDeps } from "./worker-deps.js";

/** A job message that asks for check number `check` of a submitted job. */
export type CheckMessage = JobMessage & { readonly check: number };

/** A check message due within this much is checked now rather than delayed again. */
const DUE_SLACK_MS = 1_000;

/** The deadline stays this far inside the TTL, so the job fails visibly before its row expires. */
const TTL_MARGIN_MS = 60_000;

const EstimatedCompletionSchema = z.iso.datetime({ offset: true });

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
    return completion.kind === "unstored"
      ? recordFailure(deps, delivery, job, jobType, completion.error)
      : done();
  }
  const encoded = encodeState(outcome.state);
  if (typeof encoded !== "string") {
    // The external work was started: ask it to stop, since this job can never check on it.
    if (await lenient(deps, job, "fail", () => deps.store.fail(job.id, job.attempt, encoded))) {
      await cancelOnce(deps, delivery, job, jobType, outcome.state);
    }
    return done();
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
    await lenient(deps, job, "fail", () =>
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
    return done();
  }

  if (job.deadlineAt !== undefined && now >= job.deadlineAt) {
    const error: JobError = {
      code: "deadline_exceeded",
      message: `The job ran past its longest allowed duration (${jobType.maxDurationSeconds} s after its submit).`,
      retryable: false,
    };
    log.info("Deadline passed; failing the job and cancelling its external work", context);
    if (await lenient(deps, job, "fail", () => store.fail(job.id, job.attempt, error, fence.check))) {
      await cancelOnce(deps, delivery, job, jobType, state);
      return done();
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
    return completion.kind === "moved_on" ? afterLostWrite(deps, delivery, job.id, jobType, state) : done();
  }
  if ("failed" in outcome) {
    // The external work itself failed: the job ends with its error, whatever its retryable flag says.
    const written = await lenient(deps, job, "fail", () =>
      store.fail(job.id, job.attempt, outcome.failed, fence.check),
    );
    return written ? done() : afterLostWrite(deps, delivery, job.id, jobType, state);
  }

  const pending = outcome.pending;
  let stateJson: string | undefined;
  if (pending.state !== undefined) {
    const encoded = encodeState(pending.state);
    if (typeof encoded !== "string") {
      if (await lenient(deps, job, "fail", () => store.fail(job.id, job.attempt, encoded, fence.check))) {
        // The newest state names the work best, though it is too large to keep.
        await cancelOnce(deps, delivery, job, jobType, pending.state);
      }
      return done();
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
  if (job.checkSeq === message.check && leaseLeftMs > 0 && delivery.receiveCount > 1) {
    // This very check is claimed, and its message came back: the delivery that claimed it may have
    // died with it. Look again once that lease lapses (a live run renews it or records the check
    // first), so the chain of checks never ends here. A first delivery meeting a live claim is a
    // duplicate of the message that run holds, and is dropped below.
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
    if (await lenient(deps, job, "fail", () => store.fail(job.id, job.attempt, final, check))) {
      // The external work may still be running and billing: ask it to stop.
      await cancelOnce(deps, delivery, job, jobType, state);
      return done();
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

/**
 * A write that lost its condition may have lost it to itself: a try whose answer the store did not
 * give in time took effect, and the patient retry then found the row moved on. `ownWrite` tells
 * this run's own change (by the run's attempt, or `attempt` when the write moved it on).
 */
async function tookEffect(
  deps: WorkerDeps,
  job: JobRow,
  ownWrite: (row: JobRow) => boolean,
  attempt = job.attempt,
): Promise<boolean> {
  const row = await deps.store.get(job.id);
  return row !== undefined && row.status === "running" && row.attempt === attempt && ownWrite(row);
}

/** A write lost its condition: if the job was cancelled meanwhile, its external work must stop. */
async function afterLostWrite(
  deps: WorkerDeps,
  delivery: Delivery,
  jobId: string,
  jobType: SubmitCheckJobType,
  state: JobState,
): Promise<WorkerDecision> {
  const job = await deps.store.get(jobId);
  if (job?.status === "cancelled") await cancelOnce(deps, delivery, job, jobType, state);
  return done();
}

/**
 * Calls the job type's `cancel(state)` for an ended job, at most once whatever the deliveries: a
 * conditional marker on the row decides which delivery calls it. A cancel that fails is logged,
 * not retried: the external service's own limits end the work then.
 */
async function cancelOnce(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow,
  jobType: SubmitCheckJobType,
  state: JobState,
): Promise<void> {
  if (jobType.cancel === undefined) return;
  if (!(await deps.store.markCancelCalled(job.id))) return;
  const budgetMs = Math.min(jobType.timeoutMs, delivery.remainingTimeMs() - deps.settings.deadlineMarginMs);
  try {
    await callCancel(jobType, job, state, budgetMs);
    deps.log.info("Asked the external service to stop", { jobId: job.id, status: job.status });
  } catch (error) {
    deps.log.warn("The external cancel failed; it is not retried", { jobId: job.id, error });
  }
}

/**
 * One call of the job type's `cancel(state)` for an ended job, within `budgetMs` (at least 1 ms);
 * it throws what the call threw, or the timeout. The caller must hold the row's cancel marker.
 */
export async function callCancel(
  jobType: SubmitCheckJobType,
  job: JobRow,
  state: JobState,
  budgetMs: number,
): Promise<void> {
  if (jobType.cancel === undefined) return;
  const signal = AbortSignal.timeout(Math.max(1, budgetMs));
  await Promise.race([
    jobType.cancel(state, {
      jobId: job.id,
      attempt: job.attempt,
      signal,
      // The job has ended: progress is never written after that.
      progress: async () => {},
    }),
    new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    }),
  ]);
}

/** Seconds until the next check: at least 1, and never past the deadline (so it fires on time). */
function nextDelaySeconds(
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

/** The state as stored: a JSON object within JOB_STATE_MAX_BYTES, or the job error that ends the job. */
function encodeState(state: JobState): string | JobError {
  let json: string | undefined;
  try {
    json = JSON.stringify(state);
  } catch {
    json = undefined;
  }
  if (json === undefined || typeof state !== "object" || state === null || Array.isArray(state)) {
    return {
      code: "invalid_state",
      message: "The job type returned a state that is not a JSON object.",
      retryable: false,
    };
  }
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes > JOB_STATE_MAX_BYTES) {
    return {
      code: "state_too_large",
      message: `The job type's state is ${bytes} bytes of JSON; states are limited to ${JOB_STATE_MAX_BYTES} bytes.`,
      retryable: false,
    };
  }
  return json;
}

export function decodeState(stateJson: string | undefined): JobState | undefined {
  if (stateJson === undefined) return undefined;
  try {
    const state: unknown = JSON.parse(stateJson);
    return typeof state === "object" && state !== null && !Array.isArray(state)
      ? (state as JobState)
      : undefined;
  } catch {
    return undefined;
  }
}
