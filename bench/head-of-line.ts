import type { JobView } from "../lambdas/shared/domain/job.js";
import { callForJob, connectClient, isDone } from "./mcp-client.js";
import { sleep } from "./pool.js";
import type { BenchStack } from "./stack.js";
import { since } from "./stats.js";

export interface HeadOfLineResult {
  readonly pollers: number;
  readonly batchSize: number;
  readonly longJobs: number;
  readonly longJobSeconds: number;
  readonly shortJobSeconds: number;
  /** createdAt → startedAt of the short job while every poller is free. */
  readonly idleQueueWaitMs: number;
  /** The same while each poller holds one long job (and so `longJobs` of pollers × batch slots are busy). */
  readonly busyQueueWaitMs: number;
  /** Start call → completed answer for the short job, idle and busy. */
  readonly idleResultMs: number;
  readonly busyResultMs: number;
}

const SPACING_MS = 300;
const LONG_JOB_SECONDS = 6;
const SHORT_JOB_SECONDS = 1;
const MAX_WAIT_MS = 15_000;

/**
 * A probe of how the worker's concurrency is counted. Messages that arrive one at a time are received
 * one per batch, and a batch holds its poller (as an invocation holds its Lambda concurrency slot)
 * until its longest record ends. So one long job per poller stops a short job from starting although
 * nearly all of the pollers × batch-size slots are free.
 */
export async function probeHeadOfLine(
  stack: BenchStack,
  pollers: number,
  batchSize: number,
): Promise<HeadOfLineResult> {
  const client = await connectClient(stack.mcpUrl);
  try {
    const shortJob = async (): Promise<{ queueWaitMs: number; resultMs: number }> => {
      const started = performance.now();
      let job = await callForJob(client, "start_slow_api", {
        query: "short job",
        delaySeconds: SHORT_JOB_SECONDS,
        waitSeconds: 25,
      });
      for (let calls = 1; !isDone(job) && calls < 5; calls++) {
        job = await callForJob(client, "get_job", { jobId: job.jobId, waitSeconds: 25 });
      }
      return { queueWaitMs: queueWait(job), resultMs: Math.round(since(started)) };
    };

    const idle = await shortJob();
    const longIds: string[] = [];
    for (let index = 0; index < pollers; index++) {
      const job = await callForJob(client, "start_slow_api", {
        query: `long job ${index}`,
        delaySeconds: LONG_JOB_SECONDS,
      });
      longIds.push(job.jobId);
      await sleep(SPACING_MS);
    }
    const deadline = performance.now() + MAX_WAIT_MS;
    while (performance.now() < deadline) {
      const views = await Promise.all(longIds.map((jobId) => callForJob(client, "get_job", { jobId })));
      if (views.every((view) => view.status !== "queued")) break;
      await sleep(100);
    }
    const busy = await shortJob();
    return {
      pollers,
      batchSize,
      longJobs: longIds.length,
      longJobSeconds: LONG_JOB_SECONDS,
      shortJobSeconds: SHORT_JOB_SECONDS,
      idleQueueWaitMs: idle.queueWaitMs,
      busyQueueWaitMs: busy.queueWaitMs,
      idleResultMs: idle.resultMs,
      busyResultMs: busy.resultMs,
    };
  } finally {
    await client.close();
  }
}

function queueWait(job: JobView): number {
  if (job.startedAt === undefined) return Number.NaN;
  return Date.parse(job.startedAt) - Date.parse(job.createdAt);
}
