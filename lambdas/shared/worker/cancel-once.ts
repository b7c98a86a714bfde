import type { JobRow } from "../domain/job.js";
import type { JobState, SubmitCheckJobType } from "../jobs/job-type.js";
import { done, type WorkerDecision } from "./decision.js";
import type { Delivery, WorkerDeps } from "./worker-deps.js";

/**
 * A write that lost its condition may have lost it to itself: a try whose answer the store did not
 * give in time took effect, and the patient retry then found the row moved on. `ownWrite` tells
 * this run's own change (by the run's attempt, or `attempt` when the write moved it on).
 */
export async function tookEffect(
  deps: WorkerDeps,
  job: JobRow,
  ownWrite: (row: JobRow) => boolean,
  attempt = job.attempt,
): Promise<boolean> {
  const row = await deps.store.get(job.id);
  return row !== undefined && row.status === "running" && row.attempt === attempt && ownWrite(row);
}

/** A write lost its condition: if the job was cancelled meanwhile, its external work must stop. */
export async function afterLostWrite(
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
export async function cancelOnce(
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
