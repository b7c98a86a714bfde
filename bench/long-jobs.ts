import { callForJob, connectClient } from "../cli/mcp-client.js";
import type { WorkerInvocation } from "../local/local-stack.js";
import type { BenchStack } from "./stack.js";
import { rounded as roundedSummary, type Summary, summarize } from "./stats.js";

/** Lambda arm64 in us-east-1, before free tier: the prices the README's cost section uses. */
export const PRICES = {
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  sqsRequest: 0.4 / 1e6,
  dynamoWriteUnit: 0.625 / 1e6,
} as const;

/** The deployed worker's memory (lib/worker.ts). */
export const WORKER_MEMORY_GB = 0.25;
/** The check interval the cost model assumes for batch_api. */
export const MODEL_CHECK_SECONDS = 30;
const HOUR_SECONDS = 3600;

export interface LongJobCost {
  readonly label: string;
  /** Worker seconds billed per hour of external job time. */
  readonly workerSecondsPerHour: number;
  readonly invocationsPerJob: number;
  /** SQS requests per job: a send, a receive and a delete per message. */
  readonly sqsRequestsPerJob: number;
  /** DynamoDB write units per job from the worker (each update writes the table and the owner index). */
  readonly writeUnitsPerJob: number;
  readonly computePer1000: number;
  readonly requestsPer1000: number;
  readonly sqsPer1000: number;
  readonly dynamoPer1000: number;
  readonly totalPer1000: number;
  /** How the figures were reached, for the report. */
  readonly working: string;
}

export interface LongJobsResult {
  readonly batchJobs: number;
  readonly batchSeconds: number;
  readonly measuredCheckSeconds: number;
  readonly completed: number;
  /** Worker invocation time of each submit, and of each check. */
  readonly submitMs: Summary;
  readonly checkMs: Summary;
  /** A slow_api job of the same length: its one invocation's time over its external time. */
  readonly slowApiSeconds: number;
  readonly slowApiInvocationMs: number;
  readonly slowApiHeldRatio: number;
  readonly costs: readonly [LongJobCost, LongJobCost];
}

/**
 * Measures what a long job costs in worker time: `batchJobs` batch_api jobs (submit/check) and one
 * slow_api job (a worker held for the whole call) of the same length, through MCP, with the time of
 * every worker invocation recorded. The one-hour model takes the measured submit and check times.
 */
export async function measureLongJobs(
  stack: BenchStack,
  invocations: readonly WorkerInvocation[],
  options: { batchJobs: number; seconds: number; checkSeconds: number },
): Promise<LongJobsResult> {
  const client = await connectClient(stack.mcpUrl);
  try {
    const batch = await Promise.all(
      Array.from({ length: options.batchJobs }, (_, index) =>
        callForJob(client, "start_batch_api", { query: `bench ${index}`, durationSeconds: options.seconds }),
      ),
    );
    const slow = await callForJob(client, "start_slow_api", {
      query: "bench",
      delaySeconds: options.seconds,
    });
    const ended = await Promise.all([...batch, slow].map((job) => waitForEnd(client, job.jobId)));
    const completed = ended.filter((status) => status === "completed").length;

    const of = (jobId: string): WorkerInvocation[] =>
      invocations.filter((invocation) => invocation.bodies.some((body) => body.includes(jobId)));
    const submits: number[] = [];
    const checks: number[] = [];
    for (const job of batch) {
      for (const invocation of of(job.jobId)) {
        const isCheck = invocation.bodies.some((body) => body.includes('"check"'));
        (isCheck ? checks : submits).push(invocation.durationMs);
      }
    }
    const slowApiInvocationMs = of(slow.jobId).reduce((sum, invocation) => sum + invocation.durationMs, 0);
    const submitMs = summarize(submits);
    const checkMs = summarize(checks);
    const slowApiHeldRatio = slowApiInvocationMs / (options.seconds * 1000);
    return {
      batchJobs: options.batchJobs,
      batchSeconds: options.seconds,
      measuredCheckSeconds: options.checkSeconds,
      completed,
      submitMs: roundedSummary(submitMs),
      checkMs: roundedSummary(checkMs),
      slowApiSeconds: options.seconds,
      slowApiInvocationMs: rounded(slowApiInvocationMs),
      slowApiHeldRatio: rounded(slowApiHeldRatio, 3),
      costs: [batchCost(submitMs.mean, checkMs.mean), heldCost(slowApiHeldRatio)],
    };
  } finally {
    await client.close();
  }
}

/** submit once, then a check every MODEL_CHECK_SECONDS for an hour. */
function batchCost(submitMeanMs: number, checkMeanMs: number): LongJobCost {
  const checks = HOUR_SECONDS / MODEL_CHECK_SECONDS;
  const workerSeconds = submitMeanMs / 1000 + (checks * checkMeanMs) / 1000;
  const invocations = 1 + checks;
  // Start message and one message per check; claim + submit record, then claim + record per check.
  const sqsRequests = 3 * invocations;
  const writeUnits = 2 * 2 * invocations;
  return cost(
    `batch_api (submit/check, a check every ${MODEL_CHECK_SECONDS} s)`,
    workerSeconds,
    invocations,
    sqsRequests,
    writeUnits,
    `${rounded(submitMeanMs)} ms submit + ${checks} checks × ${rounded(checkMeanMs)} ms (measured means) = ${rounded(workerSeconds, 2)} s`,
  );
}

/** One invocation holding the worker for the hour (Lambda stops at 15 minutes: a model, not a deployable). */
function heldCost(heldRatio: number): LongJobCost {
  const workerSeconds = HOUR_SECONDS * heldRatio;
  return cost(
    "slow_api-style (run, holds a worker for the whole call)",
    workerSeconds,
    1,
    3,
    2 * 2,
    `3600 s × ${rounded(heldRatio, 3)} (measured invocation time / call time) = ${rounded(workerSeconds, 0)} s`,
  );
}

function cost(
  label: string,
  workerSecondsPerHour: number,
  invocationsPerJob: number,
  sqsRequestsPerJob: number,
  writeUnitsPerJob: number,
  working: string,
): LongJobCost {
  const computePer1000 = 1000 * workerSecondsPerHour * WORKER_MEMORY_GB * PRICES.lambdaGbSecond;
  const requestsPer1000 = 1000 * invocationsPerJob * PRICES.lambdaRequest;
  const sqsPer1000 = 1000 * sqsRequestsPerJob * PRICES.sqsRequest;
  const dynamoPer1000 = 1000 * writeUnitsPerJob * PRICES.dynamoWriteUnit;
  return {
    label,
    workerSecondsPerHour: rounded(workerSecondsPerHour, 2),
    invocationsPerJob,
    sqsRequestsPerJob,
    writeUnitsPerJob,
    computePer1000: rounded(computePer1000, 4),
    requestsPer1000: rounded(requestsPer1000, 4),
    sqsPer1000: rounded(sqsPer1000, 4),
    dynamoPer1000: rounded(dynamoPer1000, 4),
    totalPer1000: rounded(computePer1000 + requestsPer1000 + sqsPer1000 + dynamoPer1000, 4),
    working,
  };
}

async function waitForEnd(client: Awaited<ReturnType<typeof connectClient>>, jobId: string): Promise<string> {
  const until = Date.now() + 120_000;
  let job = await callForJob(client, "get_job", { jobId, waitSeconds: 20 });
  while (!["completed", "failed", "cancelled"].includes(job.status) && Date.now() < until) {
    job = await callForJob(client, "get_job", { jobId, waitSeconds: 20 });
  }
  return job.status;
}

function rounded(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}
