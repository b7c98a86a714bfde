import { setTimeout as delay } from "node:timers/promises";
import { isTerminal } from "../lambdas/shared/domain/job.js";
import type { JobDisplay } from "./display.js";
import type { CliJob } from "./job.js";

/**
 * How long each `get_job` may wait server-side. The server answers at once when the job ends, so a
 * short wait costs nothing at the end and keeps the shown progress at most this old.
 */
export const WATCH_WAIT_SECONDS = 2;

/** Never call again sooner than this, even if a server answers a wait at once. */
const MIN_GAP_MS = 1000;

/**
 * Follows a job to its end by re-reading it with `get_job waitSeconds` (a bounded server-side wait,
 * not a tight poll loop), showing each answer, and returns the final job.
 */
export async function watchJob(
  first: CliJob,
  read: (jobId: string, waitSeconds: number) => Promise<CliJob>,
  display: JobDisplay,
  signal?: AbortSignal,
): Promise<CliJob> {
  let job = first;
  display.update(job);
  try {
    while (!isTerminal(job.status)) {
      const asked = Date.now();
      job = await read(job.jobId, WATCH_WAIT_SECONDS);
      display.update(job);
      const gap = MIN_GAP_MS - (Date.now() - asked);
      if (!isTerminal(job.status) && gap > 0) await delay(gap, undefined, signal ? { signal } : {});
    }
    return job;
  } finally {
    display.stop();
  }
}
