import { JOB_STATUSES, type JobRow, type JobStatus } from "../domain/job.js";
import type { JobPage, ListQuery } from "../domain/ports.js";
import { millisBetween } from "./job-metrics.js";

/** The most recent jobs one job_stats answer looks at. */
export const MAX_STATS_JOBS = 1_000;

/** Pages of the owner's jobs, newest first, as JobService.list reads them. */
export type ListJobs = (query: ListQuery) => Promise<JobPage>;

export type StatusCounts = Record<JobStatus, number>;

export interface Percentiles {
  /** How many jobs the percentiles are taken over. */
  readonly count: number;
  readonly p50?: number;
  readonly p90?: number;
  readonly p99?: number;
  readonly max?: number;
}

export interface JobStats {
  /** How many of the caller's most recent jobs were counted. */
  readonly jobsCounted: number;
  /** True when the caller has more jobs than were counted (older ones were left out). */
  readonly truncated: boolean;
  readonly oldestCreatedAt?: string;
  readonly newestCreatedAt?: string;
  readonly byStatus: StatusCounts;
  readonly byType: Record<string, StatusCounts & { readonly total: number }>;
  /** Milliseconds from the start to the first claim, over jobs that were claimed. */
  readonly timeQueuedMs: Percentiles;
  /** Milliseconds from the first claim to the end, over jobs that ran and ended. */
  readonly runTimeMs: Percentiles;
}

/** The nearest-rank percentile of `values` (sorted ascending); undefined when there are none. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function percentilesOf(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0 };
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1],
  };
}

function emptyCounts(): StatusCounts {
  return Object.fromEntries(JOB_STATUSES.map((status) => [status, 0])) as StatusCounts;
}

/** Counts by status and type, and the time-queued and run-time percentiles, of these jobs. */
export function summarizeJobs(jobs: readonly JobRow[], truncated: boolean): JobStats {
  const byStatus = emptyCounts();
  const byType: Record<string, StatusCounts & { total: number }> = {};
  const queued: number[] = [];
  const run: number[] = [];
  for (const job of jobs) {
    byStatus[job.status] += 1;
    const type = byType[job.type] ?? { ...emptyCounts(), total: 0 };
    byType[job.type] = type;
    type[job.status] += 1;
    type.total += 1;
    const queuedMs = millisBetween(job.createdAt, job.startedAt);
    if (queuedMs !== undefined) queued.push(queuedMs);
    const runMs = millisBetween(job.startedAt, job.finishedAt);
    if (runMs !== undefined) run.push(runMs);
  }
  const created = jobs.map((job) => job.createdAt).sort();
  return {
    jobsCounted: jobs.length,
    truncated,
    ...(created.length > 0
      ? { oldestCreatedAt: created[0], newestCreatedAt: created[created.length - 1] }
      : {}),
    byStatus,
    byType,
    timeQueuedMs: percentilesOf(queued),
    runTimeMs: percentilesOf(run),
  };
}

/** Reads up to `limit` of the owner's newest jobs (every status) and summarizes them. */
export async function recentJobStats(list: ListJobs, limit: number): Promise<JobStats> {
  const jobs: JobRow[] = [];
  let cursor: string | undefined;
  do {
    const page = await list({
      limit: Math.min(100, limit - jobs.length),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    jobs.push(...page.jobs);
    cursor = page.nextCursor;
  } while (cursor !== undefined && jobs.length < limit);
  return summarizeJobs(jobs.slice(0, limit), cursor !== undefined || jobs.length > limit);
}
