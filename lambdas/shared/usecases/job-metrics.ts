import type { JobRow } from "../domain/job.js";
import { count, type JobMetrics, METRIC } from "../domain/metrics.js";

/**
 * Milliseconds between two of a row's timestamps. Each is taken by the writer before its request
 * waits for a connection, so a claim queued behind the start's write can read a few milliseconds
 * earlier than the row's createdAt: such a span counts as 0, not as missing.
 */
export function millisBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

/** A run was claimed: its first claim ends the job's time in the queue. */
export function recordClaimed(metrics: JobMetrics, job: JobRow): void {
  if (job.attempt !== 1) return;
  const queued = millisBetween(job.createdAt, job.startedAt);
  if (queued !== undefined) metrics.record(METRIC.timeQueued, queued, "Milliseconds", { JobType: job.type });
}

/**
 * A job reached its end (the row as the write that ended it returned it): its outcome, its times,
 * and for a job a check ended, how many checks it took. A stored result counts with its bytes.
 */
export function recordEnded(metrics: JobMetrics, job: JobRow, check?: number): void {
  const dimensions = { JobType: job.type };
  if (job.status === "completed") count(metrics, METRIC.jobsCompleted, dimensions);
  else if (job.status === "failed")
    count(metrics, METRIC.jobsFailed, { ...dimensions, ErrorCode: job.error?.code ?? "unknown" });
  else if (job.status === "cancelled") count(metrics, METRIC.jobsCancelled, dimensions);
  else return;
  const run = millisBetween(job.startedAt, job.finishedAt);
  if (run !== undefined) metrics.record(METRIC.runTime, run, "Milliseconds", dimensions);
  const total = millisBetween(job.createdAt, job.finishedAt);
  if (total !== undefined) metrics.record(METRIC.timeToTerminal, total, "Milliseconds", dimensions);
  if (check !== undefined) metrics.record(METRIC.checksPerJob, check, "Count", dimensions);
  if (job.status === "completed" && job.resultRef !== undefined) {
    count(metrics, METRIC.resultsStored, dimensions);
    metrics.record(METRIC.resultBytes, job.resultRef.bytes, "Bytes", dimensions);
  }
}

/** A run or a check was released for another attempt. */
export function recordRetry(metrics: JobMetrics, job: JobRow): void {
  count(metrics, METRIC.jobRetries, { JobType: job.type });
}
