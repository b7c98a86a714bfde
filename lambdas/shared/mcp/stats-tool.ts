import * as z from "zod";
import { JOB_STATUSES } from "../domain/job.js";
import type { JobService } from "../usecases/job-service.js";
import { MAX_STATS_JOBS, recentJobStats } from "../usecases/job-stats.js";

export const JobStatsInput = z.object({
  limit: z
    .number()
    .int()
    .min(1)
    .max(MAX_STATS_JOBS)
    .default(200)
    .describe(`How many of your most recent jobs to count (1 to ${MAX_STATS_JOBS}, default 200)`),
});

const counts = z.object(Object.fromEntries(JOB_STATUSES.map((status) => [status, z.number().int()])));
const percentiles = z.object({
  count: z.number().int().describe("Jobs the percentiles are taken over"),
  p50: z.number().optional(),
  p90: z.number().optional(),
  p99: z.number().optional(),
  max: z.number().optional(),
});

export const JobStatsOutput = z.object({
  jobsCounted: z.number().int(),
  truncated: z.boolean().describe("True when you have older jobs than were counted"),
  oldestCreatedAt: z.string().optional(),
  newestCreatedAt: z.string().optional(),
  byStatus: counts,
  byType: z.record(z.string(), counts.extend({ total: z.number().int() })),
  timeQueuedMs: percentiles.describe("Milliseconds from the start to the first claim"),
  runTimeMs: percentiles.describe("Milliseconds from the first claim to the end"),
});

/** job_stats: counts and times of the caller's own recent jobs (the same jobs list_jobs shows). */
export const JOB_STATS_TOOL = {
  name: "job_stats",
  title: "Statistics of my jobs",
  description:
    "Counts your most recent jobs (up to limit) by status and by type, with the time they waited in the queue and the time they ran (p50, p90, p99, max, in milliseconds). The same jobs list_jobs shows; truncated says whether older ones were left out.",
  inputSchema: JobStatsInput,
  outputSchema: JobStatsOutput,
  annotations: { title: "Job statistics", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
} as const;

/** The statistics of `owner`'s most recent `limit` jobs. */
export function jobStatsOf(service: JobService, owner: string, limit: number): Promise<object> {
  return recentJobStats((query) => service.list(owner, query), limit);
}
