import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { callForJob, connectClient } from "../cli/mcp-client.js";
import type { JobView } from "../lambdas/shared/domain/job.js";
import { isDone } from "./mcp-client.js";
import { sleep } from "./pool.js";
import type { BenchStack } from "./stack.js";
import { since } from "./stats.js";

/** One worker setting the probe runs on, and how many long jobs it starts before the short one. */
export interface HeadOfLineSetting {
  readonly id: string;
  readonly label: string;
  /** Poller loops: invocations at once, like the event source's maximum concurrency. */
  readonly pollers: number;
  /** Messages per invocation. */
  readonly batchSize: number;
  /** Long jobs started (each received on its own) before the short job; at most `pollers`. */
  readonly longJobs: number;
}

export interface HeadOfLineCase extends HeadOfLineSetting {
  /** pollers × batch size: jobs that could run at once if every batch were full. */
  readonly slots: number;
  readonly longJobSeconds: number;
  readonly shortJobSeconds: number;
  /** createdAt → startedAt of the short job while every poller is free. */
  readonly idleQueueWaitMs: number;
  /** The same once the long jobs run, each in an invocation of its own. */
  readonly busyQueueWaitMs: number;
  /** Start call → completed answer for the short job, idle and busy. */
  readonly idleResultMs: number;
  readonly busyResultMs: number;
  /** Long jobs running (from their rows) when the short job was queued behind them. */
  readonly longJobsRunning: number;
  /** First long job's end → short job's start: ≈ 0 when the short job waited for it, else negative. */
  readonly firstLongEndToShortStartMs: number;
}

/** Apart enough for a poller to receive each long job alone when batches hold more than one message. */
const SPACING_MS = 300;
const LONG_JOB_SECONDS = 6;
const SHORT_JOB_SECONDS = 1;
const MAX_WAIT_MS = 15_000;

/**
 * A probe of how the worker's concurrency is counted. Messages that arrive one at a time are
 * received one per batch, and a batch holds its poller (as an invocation holds its Lambda
 * concurrency slot) until its longest record ends. With batches of 10, one long job per poller
 * stops a short job from starting although nearly all of the pollers × batch-size slots are free;
 * with one job per invocation, a short job starts as long as one poller is free.
 */
export async function probeHeadOfLine(
  stack: BenchStack,
  setting: HeadOfLineSetting,
): Promise<HeadOfLineCase> {
  if (setting.longJobs > setting.pollers) {
    throw new RangeError(`longJobs (${setting.longJobs}) must not exceed pollers (${setting.pollers})`);
  }
  const client = await connectClient(stack.mcpUrl);
  try {
    const idle = await shortJob(client);
    const longIds: string[] = [];
    for (let index = 0; index < setting.longJobs; index++) {
      const job = await callForJob(client, "start_slow_api", {
        query: `long job ${index}`,
        delaySeconds: LONG_JOB_SECONDS,
      });
      longIds.push(job.jobId);
      // Single-message receives cannot take two long jobs at once: no spacing needed.
      if (setting.batchSize > 1) await sleep(SPACING_MS);
    }
    const deadline = performance.now() + MAX_WAIT_MS;
    while (performance.now() < deadline) {
      const views = await readJobs(client, longIds);
      if (views.every((view) => view.status !== "queued")) break;
      await sleep(100);
    }
    const busy = await shortJob(client);
    const queuedAt = Date.parse(busy.job.createdAt);
    // Their ends too: the first may come after the short job (the stack's stop waits for them anyway).
    const longViews = await Promise.all(longIds.map((jobId) => waitForEnd(client, jobId)));
    const longRunning = longViews.filter(
      (view) => startedAt(view) <= queuedAt && queuedAt < finishedAt(view),
    );
    const firstLongEnd = Math.min(...longViews.map(finishedAt));
    return {
      ...setting,
      slots: setting.pollers * setting.batchSize,
      longJobSeconds: LONG_JOB_SECONDS,
      shortJobSeconds: SHORT_JOB_SECONDS,
      idleQueueWaitMs: queueWait(idle.job),
      busyQueueWaitMs: queueWait(busy.job),
      idleResultMs: idle.resultMs,
      busyResultMs: busy.resultMs,
      longJobsRunning: longRunning.length,
      firstLongEndToShortStartMs: startedAt(busy.job) - firstLongEnd,
    };
  } finally {
    await client.close();
  }
}

/** A short job as an agent runs it: start with waitSeconds, then get_job waitSeconds until it ends. */
async function shortJob(client: Client): Promise<{ job: JobView; resultMs: number }> {
  const started = performance.now();
  let job = await callForJob(client, "start_slow_api", {
    query: "short job",
    delaySeconds: SHORT_JOB_SECONDS,
    waitSeconds: 25,
  });
  for (let calls = 1; !isDone(job) && calls < 5; calls++) {
    job = await callForJob(client, "get_job", { jobId: job.jobId, waitSeconds: 25 });
  }
  return { job, resultMs: Math.round(since(started)) };
}

async function waitForEnd(client: Client, jobId: string): Promise<JobView> {
  let job = await callForJob(client, "get_job", { jobId, waitSeconds: 25 });
  for (let calls = 1; !isDone(job) && calls < 3; calls++) {
    job = await callForJob(client, "get_job", { jobId, waitSeconds: 25 });
  }
  return job;
}

function readJobs(client: Client, jobIds: readonly string[]): Promise<JobView[]> {
  return Promise.all(jobIds.map((jobId) => callForJob(client, "get_job", { jobId })));
}

function startedAt(job: JobView): number {
  return job.startedAt === undefined ? Number.NaN : Date.parse(job.startedAt);
}

/** Infinity while the job has not ended. */
function finishedAt(job: JobView): number {
  return job.finishedAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(job.finishedAt);
}

function queueWait(job: JobView): number {
  return startedAt(job) - Date.parse(job.createdAt);
}
