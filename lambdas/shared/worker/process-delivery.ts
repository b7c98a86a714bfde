import { z } from "zod";
import { ExternalApiError, JobStateConflictError } from "../domain/errors.js";
import { isTerminal, type JobError, JobMessageSchema, type JobRow, ProgressSchema } from "../domain/job.js";
import type { Log, LogFields } from "../domain/logger.js";
import type { Clock, JobRunStore, NewJob } from "../domain/ports.js";
import type { ResultWriter } from "../domain/results.js";
import { isSubmitCheck, type JobType, type RunContext, type SubmitOutcome } from "../jobs/job-type.js";
import type { JobTypeRegistry } from "../jobs/registry.js";
import { failureDelaySeconds, retryAfterOf } from "./backoff.js";
import { completeJob } from "./complete-job.js";
import { done, retryAfter, type WorkerDecision } from "./decision.js";
import { LeaseKeeper } from "./lease-keeper.js";
import { newClaimToken, patientRunStore } from "./patience.js";
import { afterSubmit, type CheckMessage, processCheck, resendLostCheck } from "./submit-check.js";

/** The worker's tunables; the worker's config produces them from the environment. */
export interface WorkerSettings {
  /** Receives per message before SQS dead-letters it: the last receive is the job's last chance. */
  readonly maxReceiveCount: number;
  readonly resultMaxBytes: number;
  readonly resultInlineBytes: number;
  readonly retryBaseSeconds: number;
  readonly retryMaxSeconds: number;
  /** Milliseconds kept back from the invocation's remaining time when a run's deadline is set. */
  readonly deadlineMarginMs: number;
  /** Milliseconds between a run's reads of its row (cancel and takeover). */
  readonly cancelCheckMs: number;
  /** How long a claim holds a job; the live run renews it while it works. */
  readonly leaseMs: number;
  /** How long a claim or an outcome write is tried again while the store does not answer. */
  readonly storePatienceMs: number;
}

/** The worker core's ports: it holds no queue and no receipt handle; it returns a decision. */
export interface WorkerDeps {
  readonly store: JobRunStore;
  /** Where results too large for the row go; absent: such results fail `result_too_large`. */
  readonly results?: ResultWriter;
  readonly registry: JobTypeRegistry;
  readonly settings: WorkerSettings;
  readonly clock: Clock;
  readonly log: Log;
}

/** One SQS delivery, stripped of the event's shape. */
export interface Delivery {
  readonly body: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
  /** Lambda's remaining time for this invocation. */
  remainingTimeMs(): number;
  /** SQS's SentTimestamp (epoch ms): how long ago the start sent this message. */
  readonly sentAtMs?: number;
}

/**
 * The start sends the message before it writes the row (so no row is ever left without a
 * message), so a message may arrive before its row, or name a row whose write timed out at the
 * client and was applied later. Such a message is looked at again for this long after it was sent,
 * then dropped: its start answered an error and no job exists.
 */
export const ROW_WAIT_WINDOW_MS = 90_000;

/** Looks again quickly first (the row is usually a few milliseconds behind), then less often. */
export function rowWaitDelaySeconds(receiveCount: number): number {
  return [1, 5, 20][receiveCount - 1] ?? 60;
}

export class MalformedMessageError extends Error {
  constructor(detail: string) {
    super(`Malformed job message: ${detail}`);
    this.name = "MalformedMessageError";
  }
}

/**
 * Why a run stopped: its deadline passed (`timeout`), the job was cancelled or another run took it
 * over, or the store did not answer for so long that this run's lease was about to lapse
 * (`lease_lost`): it stops then, so that two runs of one job never overlap.
 */
export class RunAbort extends Error {
  constructor(readonly reason: "cancelled" | "timeout" | "taken_over" | "lease_lost") {
    super(reason);
    this.name = "RunAbort";
  }
}

/** The job is someone else's now (its canceller's or another run's): this run records nothing. */
export function isLostToAnother(abort: RunAbort): boolean {
  return abort.reason === "cancelled" || abort.reason === "taken_over";
}

export function parseJobMessage(body: string): z.infer<typeof JobMessageSchema> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new MalformedMessageError("body is not JSON");
  }
  const parsed = JobMessageSchema.safeParse(json);
  if (!parsed.success) throw new MalformedMessageError(z.prettifyError(parsed.error).replaceAll("\n", " "));
  return parsed.data;
}

/**
 * Takes one delivery of a job message to its end: claim, run under a deadline, record the outcome.
 * Every write is conditional on the run's attempt, so a duplicate or stale delivery changes nothing.
 * A submit/check job is submitted here; its check messages go to `processCheck`.
 */
export async function processDelivery(deps: WorkerDeps, delivery: Delivery): Promise<WorkerDecision> {
  const { log, settings } = deps;
  const message = parseJobMessage(delivery.body);
  const context = { jobId: message.jobId, type: message.type, receiveCount: delivery.receiveCount };

  let jobType: JobType;
  try {
    jobType = deps.registry.get(message.type);
  } catch {
    log.error("Job type is not registered; failing the job", context);
    await failIfOpen(deps, message.jobId, {
      code: "unknown_job_type",
      message: `This server no longer runs jobs of type ${message.type}.`,
      retryable: false,
    });
    return done();
  }

  if (message.check !== undefined) {
    if (isSubmitCheck(jobType)) return processCheck(deps, delivery, message as CheckMessage, jobType);
    log.warn("Dropping a check message for a job type that has no checks", context);
    return done();
  }

  // The claim and the outcome writes outlast a store that stalls for a while (WORKER_STORE_PATIENCE_MS).
  const patientDeps = { ...deps, store: patientRunStore(deps, delivery) };
  let claim = await patientDeps.store.claim(message.jobId, settings.leaseMs, newClaimToken());
  if (!claim.claimed && claim.job === undefined && mayAdopt(message, delivery)) {
    // The start's own write has not landed since the first look: the message brings the job to life.
    const adopted = await patientDeps.store.adopt(message.job);
    log.info("The start's row never landed; wrote it from the message", { ...context, adopted: !!adopted });
    if (adopted) claim = await patientDeps.store.claim(message.jobId, settings.leaseMs, newClaimToken());
  }
  if (!claim.claimed) return settleUnclaimed(deps, delivery, claim.job, message.type, context);
  // Measured after the claim, which may have waited for the store.
  const runBudgetMs = Math.min(jobType.timeoutMs, delivery.remainingTimeMs() - settings.deadlineMarginMs);

  let job = claim.job;
  const attempt = job.attempt;
  log.info("Job claimed", { ...context, attempt });
  if (job.claimToken !== undefined && (job.leaseExpiresAt ?? 0) - deps.clock.now() < settings.leaseMs / 2) {
    // A claim that took effect late (after a stall) carries the lease stamped when it was sent:
    // renew it before the run, so the run does not stop itself for a lease it barely holds.
    const renewal = await patientDeps.store.renewLease(
      job.id,
      { attempt, token: job.claimToken },
      settings.leaseMs,
    );
    if (!renewal.claimed) return done();
    job = renewal.job ?? job;
  }
  if (runBudgetMs <= 0) {
    return recordFailure(patientDeps, delivery, job, jobType, timeoutError(0));
  }

  const input = jobType.input.safeParse(JSON.parse(job.inputJson));
  if (!input.success) {
    return recordFailure(patientDeps, delivery, job, jobType, {
      code: "invalid_input",
      message: `The stored input no longer fits ${jobType.name}: ${z.prettifyError(input.error)}`,
      retryable: false,
    });
  }

  let outcome: unknown;
  try {
    outcome = await runWithDeadline(patientDeps, job, runBudgetMs, (runContext) =>
      isSubmitCheck(jobType) ? jobType.submit(input.data, runContext) : jobType.run(input.data, runContext),
    );
  } catch (error) {
    if (error instanceof RunAbort && isLostToAnother(error)) {
      log.info("Run stopped: the job was cancelled or taken over", {
        ...context,
        attempt,
        reason: error.reason,
      });
      return done();
    }
    const jobError = toJobError(error, runBudgetMs, log, context);
    return recordFailure(patientDeps, delivery, job, jobType, jobError, retryAfterOf(error));
  }

  if (isSubmitCheck(jobType))
    return afterSubmit(patientDeps, delivery, job, jobType, outcome as SubmitOutcome);
  const completion = await completeJob(patientDeps, job, outcome);
  return completion.kind === "unstored"
    ? recordFailure(patientDeps, delivery, job, jobType, completion.error)
    : done();
}

/** A start message that carries its job, seen again after its first look found no row. */
function mayAdopt(
  message: z.infer<typeof JobMessageSchema>,
  delivery: Delivery,
): message is z.infer<typeof JobMessageSchema> & { job: NewJob } {
  return message.job !== undefined && message.job.id === message.jobId && delivery.receiveCount >= 2;
}

async function settleUnclaimed(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow | undefined,
  type: string,
  context: LogFields,
): Promise<WorkerDecision> {
  const nowMs = deps.clock.now();
  if (!job && delivery.sentAtMs !== undefined && nowMs - delivery.sentAtMs < ROW_WAIT_WINDOW_MS) {
    const delaySeconds = rowWaitDelaySeconds(delivery.receiveCount);
    deps.log.info("The job's row is not there yet; looking again", { ...context, delaySeconds });
    return retryAfter(delaySeconds);
  }
  if (!job || job.expiresAt * 1000 <= nowMs || isTerminal(job.status)) {
    deps.log.info("Nothing to run: the job is unknown, expired or already ended", {
      ...context,
      status: job?.status,
    });
    return done();
  }
  if (job.checkSeq !== undefined) {
    // Submitted already: this start message is a duplicate, or a redelivery after a lost send.
    return resendLostCheck(deps, delivery, job, type, 0);
  }
  // Another run holds a live lease. Look again once it lapses, in case that run dies.
  const leaseLeftSeconds = Math.ceil(((job.leaseExpiresAt ?? nowMs) - nowMs) / 1000) + 1;
  deps.log.info("Job is held by another run; checking again after its lease", {
    ...context,
    leaseLeftSeconds,
  });
  return retryAfter(leaseLeftSeconds);
}

/**
 * Runs one call of a job type (run, submit or check) under a deadline, with cancel checks while
 * it runs; rejects with RunAbort when the deadline passes or the job is cancelled or taken over.
 */
export async function runWithDeadline<T>(
  deps: WorkerDeps,
  job: JobRow,
  budgetMs: number,
  call: (context: RunContext) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const abort = (reason: RunAbort["reason"]): void => {
    if (!controller.signal.aborted) controller.abort(new RunAbort(reason));
  };
  const deadline = setTimeout(() => abort("timeout"), budgetMs);
  const lease = new LeaseKeeper(deps, job, abort);
  const watcher = setInterval(() => void lease.tick(), deps.settings.cancelCheckMs);
  const checkStillOwned = (): Promise<void> => lease.check();

  try {
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
    });
    const run = call({
      jobId: job.id,
      attempt: job.attempt,
      signal: controller.signal,
      progress: async (progress) => {
        if (controller.signal.aborted) return;
        // A row must always parse on read, so a job type's malformed progress is dropped, not stored.
        const valid = ProgressSchema.safeParse(progress);
        if (!valid.success) {
          deps.log.warn("Dropping invalid progress", { jobId: job.id, issues: valid.error.issues });
          return;
        }
        let written: boolean;
        try {
          written = await deps.store.progress(job.id, job.attempt, valid.data);
        } catch (error) {
          // Progress is a report, not the work: a store that does not answer must not fail the run.
          deps.log.warn("Could not record progress; the run goes on", { jobId: job.id, error });
          return;
        }
        if (!written) await checkStillOwned();
      },
    });
    // A job type that ignores its signal must not hold the worker past the deadline.
    return await Promise.race([run, aborted]);
  } finally {
    clearTimeout(deadline);
    clearInterval(watcher);
  }
}

export function toJobError(error: unknown, budgetMs: number, log: Log, context: LogFields): JobError {
  if (error instanceof RunAbort && error.reason === "lease_lost") return LEASE_LOST_ERROR;
  if (error instanceof RunAbort) return timeoutError(budgetMs);
  if (error instanceof ExternalApiError) return error.toJobError();
  log.error("Job run failed unexpectedly", { ...context, error });
  return { code: "internal_error", message: "The job failed unexpectedly.", retryable: true };
}

const LEASE_LOST_ERROR: JobError = {
  code: "store_unavailable",
  message:
    "The job store did not answer for longer than the run's lease, so the run stopped to let a later attempt take the job over safely.",
  retryable: true,
};

export function timeoutError(budgetMs: number): JobError {
  return {
    code: "timeout",
    message: `The external call did not answer within ${Math.round(budgetMs / 1000)} s.`,
    retryable: true,
  };
}

export async function recordFailure(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow,
  jobType: JobType,
  error: JobError,
  /** The API's own Retry-After; it replaces the backoff, up to the backoff maximum. */
  retryAfterSeconds?: number,
): Promise<WorkerDecision> {
  const { store, settings } = deps;
  if (!error.retryable || isLastChance(deps, delivery, job, jobType)) {
    const final = error.retryable
      ? { ...error, message: `${error.message} Gave up after ${job.attempt} attempts.` }
      : error;
    await lenient(deps, job, "fail", () => store.fail(job.id, job.attempt, final));
    return done();
  }
  const delaySeconds = failureDelaySeconds(job.attempt, settings, retryAfterSeconds);
  const released = await lenient(deps, job, "release for retry", () =>
    store.releaseForRetry(job.id, job.attempt, error),
  );
  if (!released) return done();
  deps.log.info("Transient failure; retrying", { jobId: job.id, attempt: job.attempt, delaySeconds, error });
  return retryAfter(delaySeconds);
}

/** The last chance of a job that failed: its attempts are used, or its message's receives are. */
export function isLastChance(deps: WorkerDeps, delivery: Delivery, job: JobRow, jobType: JobType): boolean {
  const { settings } = deps;
  const maxAttempts = Math.min(job.maxAttempts, jobType.maxAttempts, settings.maxReceiveCount);
  return job.attempt >= maxAttempts || delivery.receiveCount >= settings.maxReceiveCount;
}

/** A write that lost its condition means the job moved on (cancelled, taken over): not an error. */
export async function lenient(
  deps: WorkerDeps,
  job: JobRow,
  what: string,
  write: () => Promise<JobRow>,
): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (!(error instanceof JobStateConflictError)) throw error;
    deps.log.info(`Could not ${what}: the job moved on without this run`, {
      jobId: job.id,
      attempt: job.attempt,
    });
    return false;
  }
}

async function failIfOpen(deps: WorkerDeps, jobId: string, error: JobError): Promise<void> {
  try {
    await deps.store.failOpen(jobId, error);
  } catch (failure) {
    if (!(failure instanceof JobStateConflictError)) throw failure;
  }
}
