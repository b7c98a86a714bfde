import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { callForJob, connectClient } from "../cli/mcp-client.js";
import type { JobView } from "../lambdas/shared/domain/job.js";
import { isDone } from "./mcp-client.js";
import { sleep } from "./pool.js";
import { median, rounded, type Summary, summarize } from "./stats.js";

export interface LagMethod {
  readonly id: "wait" | "poll-1s" | "poll-10s";
  readonly label: string;
  /** Undefined: get_job waitSeconds 25 in a loop. */
  readonly pollEveryMs?: number;
}

export const LAG_METHODS: readonly LagMethod[] = [
  { id: "wait", label: "get_job waitSeconds 25 (server-side wait)" },
  { id: "poll-1s", label: "get_job every 1 s", pollEveryMs: 1_000 },
  { id: "poll-10s", label: "get_job every 10 s", pollEveryMs: 10_000 },
];

export interface LagRow {
  readonly method: LagMethod["id"];
  readonly label: string;
  readonly completed: number;
  readonly samples: number;
  /** From the row's finishedAt to the client holding the `completed` answer. */
  readonly lagMs: Summary;
  /** Median tool calls per job, the start included. */
  readonly toolCalls: number;
}

const MAX_CALLS_PER_JOB = 60;
/** Job lengths cycle through these, so job ends do not line up with the server's re-read schedule. */
const JOB_SECONDS = [2, 3, 4, 5];
const STAGGER_MS = 150;
const WAIT_SPREAD_MS = 1_000;

interface LagSample {
  readonly lagMs: number | undefined;
  readonly toolCalls: number;
}

/**
 * For each way of waiting, `samplesPerMethod` jobs at once (10 s polling needs ≥ 10 s per sample).
 * Polling clients start at evenly spread phases of their interval (waiting clients make their first
 * get_job call at evenly spread points of a second): a real job ends at an arbitrary point between
 * two reads, and an even spread measures that without luck deciding the median.
 */
export async function measureVisibilityLag(mcpUrl: string, samplesPerMethod: number): Promise<LagRow[]> {
  const tasks = LAG_METHODS.flatMap((method, methodIndex) =>
    Array.from({ length: samplesPerMethod }, async (_, index) => {
      await sleep((methodIndex * samplesPerMethod + index) * STAGGER_MS);
      const client = await connectClient(mcpUrl);
      try {
        const jobSeconds = JOB_SECONDS[index % JOB_SECONDS.length] as number;
        const phase = (index + 0.5) / samplesPerMethod;
        return { method: method.id, sample: await observe(client, method, jobSeconds, phase) };
      } finally {
        await client.close();
      }
    }),
  );
  const results = await Promise.all(tasks);
  return LAG_METHODS.map((method) => {
    const samples = results.filter((r) => r.method === method.id).map((r) => r.sample);
    const lags = samples.flatMap((s) => (s.lagMs === undefined ? [] : [s.lagMs]));
    return {
      method: method.id,
      label: method.label,
      completed: lags.length,
      samples: samples.length,
      lagMs: rounded(summarize(lags), 0),
      toolCalls: median(samples.map((s) => s.toolCalls)),
    };
  });
}

async function observe(
  client: Client,
  method: LagMethod,
  jobSeconds: number,
  phase: number,
): Promise<LagSample> {
  const started = performance.now();
  let job = await callForJob(client, "start_slow_api", { query: "visibility lag", delaySeconds: jobSeconds });
  let toolCalls = 1;
  const every = method.pollEveryMs;
  while (!isDone(job) && toolCalls < MAX_CALLS_PER_JOB) {
    if (every === undefined) {
      // An agent's next turn comes some time after the start answers; the server then re-reads
      // the row at pauses growing from 100 to 500 ms, so spread the first call over a second.
      if (toolCalls === 1) await sleep(started + phase * WAIT_SPREAD_MS - performance.now());
      job = await callForJob(client, "get_job", { jobId: job.jobId, waitSeconds: 25 });
    } else {
      await sleep(started + (phase + toolCalls - 1) * every - performance.now());
      job = await callForJob(client, "get_job", { jobId: job.jobId });
    }
    toolCalls++;
  }
  // Wall clock on both sides: the worker stamped finishedAt with this machine's clock.
  return { lagMs: lagOf(job, Date.now()), toolCalls };
}

function lagOf(job: JobView, seenAt: number): number | undefined {
  if (job.status !== "completed" || job.finishedAt === undefined) return undefined;
  return seenAt - Date.parse(job.finishedAt);
}
