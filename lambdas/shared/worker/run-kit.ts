import { ExternalApiError, JobStateConflictError } from "../domain/errors.js";
import { type JobError, type JobRow, ProgressSchema } from "../domain/job.js";
import type { Log, LogFields } from "../domain/logger.js";
import type { JobType, RunContext } from "../jobs/job-type.js";
import { failureDelaySeconds, retryAfterOf } from "./backoff.js";
import { done, retryAfter, type WorkerDecision } from "./decision.js";
import { LeaseKeeper } from "./lease-keeper.js";
import { type Delivery, isLostToAnother, RunAbort, type WorkerDeps } from "./worker-deps.js";

/** What every job shape's runs share: the deadline and lease around a call, failures and their retries. */

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

/**
 * One call of a claimed job (a run or a submit) under its deadline, then `after` with its outcome.
 * A call stopped by a cancel or a takeover ends the delivery; any other failure is recorded.
 */
export async function runOnce<T>(
  deps: WorkerDeps,
  delivery: Delivery,
  job: JobRow,
  jobType: JobType,
  budgetMs: number,
  context: LogFields,
  call: (context: RunContext) => Promise<T>,
  after: (outcome: T) => Promise<WorkerDecision>,
): Promise<WorkerDecision> {
  let outcome: T;
  try {
    outcome = await runWithDeadline(deps, job, budgetMs, call);
  } catch (error) {
    if (error instanceof RunAbort && isLostToAnother(error)) {
      deps.log.info("Run stopped: the job was cancelled or taken over", {
        ...context,
        attempt: job.attempt,
        reason: error.reason,
      });
      return done();
    }
    const jobError = toJobError(error, budgetMs, deps.log, context);
    return recordFailure(deps, delivery, job, jobType, jobError, retryAfterOf(error));
  }
  return after(outcome);
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
    return done(await lenient(deps, job, "fail", () => store.fail(job.id, job.attempt, final)));
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

/**
 * A write that lost its condition means the job moved on (cancelled, taken over): not an error.
 * Returns the written row, or undefined when the job moved on.
 */
export async function lenient(
  deps: WorkerDeps,
  job: JobRow,
  what: string,
  write: () => Promise<JobRow>,
): Promise<JobRow | undefined> {
  try {
    return await write();
  } catch (error) {
    if (!(error instanceof JobStateConflictError)) throw error;
    deps.log.info(`Could not ${what}: the job moved on without this run`, {
      jobId: job.id,
      attempt: job.attempt,
    });
    return undefined;
  }
}
