import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryJobMetrics } from "../../lambdas/shared/adapters/memory-metrics.js";
import type { JobView } from "../../lambdas/shared/domain/job.js";
import type { Log, LogFields } from "../../lambdas/shared/domain/logger.js";
import { METRIC } from "../../lambdas/shared/domain/metrics.js";
import type { LocalStack } from "../../local/local-stack.js";
import { callForJob, connectClient, startTestStack } from "../support/mcp-stack.js";

let stack: LocalStack;
let client: Client;
const metrics = new MemoryJobMetrics();
const lines: Array<{ message: string; fields: LogFields }> = [];
const log: Log = {
  info: (message, fields) => lines.push({ message, fields }),
  warn: (message, fields) => lines.push({ message, fields }),
  error: (message, fields) => lines.push({ message, fields }),
};

async function untilEnded(jobId: string): Promise<JobView> {
  for (let i = 0; i < 10; i++) {
    const job = await callForJob(client, "get_job", { jobId, waitSeconds: 15 });
    if (!["queued", "running"].includes(job.status)) return job;
  }
  throw new Error(`job ${jobId} did not end`);
}

/** Every value recorded for this job type, by metric name, with its unit and dimensions. */
function recordedFor(type: string): Record<string, Array<{ value: number; unit: string; dims: object }>> {
  const byName: Record<string, Array<{ value: number; unit: string; dims: object }>> = {};
  for (const entry of metrics.recorded) {
    if (entry.dimensions.JobType !== type) continue;
    byName[entry.name] ??= [];
    byName[entry.name]?.push({ value: entry.value, unit: entry.unit, dims: entry.dimensions });
  }
  return byName;
}

/** As the metrics take it: a claim may read a few ms before the row's createdAt (counted as 0). */
function millisBetween(from: string | undefined, to: string | undefined): number {
  return Math.max(0, Date.parse(to ?? "") - Date.parse(from ?? ""));
}

beforeAll(async () => {
  stack = await startTestStack({ metrics, log });
  client = await connectClient(stack.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

describe("job metrics over a job's life", () => {
  it("a completed job: started, queued, run, completed, with its times taken from its row", async () => {
    const started = await callForJob(client, "start_slow_api", { query: "metrics", delaySeconds: 0 });
    const job = await untilEnded(started.jobId);
    expect(job.status).toBe("completed");

    const recorded = recordedFor("slow_api");
    expect(recorded[METRIC.jobsStarted]).toEqual([
      { value: 1, unit: "Count", dims: { JobType: "slow_api" } },
    ]);
    expect(recorded[METRIC.jobsCompleted]).toEqual([
      { value: 1, unit: "Count", dims: { JobType: "slow_api" } },
    ]);
    expect(recorded[METRIC.timeQueued]).toEqual([
      {
        value: millisBetween(job.createdAt, job.startedAt),
        unit: "Milliseconds",
        dims: { JobType: "slow_api" },
      },
    ]);
    expect(recorded[METRIC.runTime]?.map((entry) => entry.value)).toEqual([
      millisBetween(job.startedAt, job.finishedAt),
    ]);
    expect(recorded[METRIC.timeToTerminal]?.map((entry) => entry.value)).toEqual([
      millisBetween(job.createdAt, job.finishedAt),
    ]);
    expect(recorded[METRIC.jobsFailed]).toBeUndefined();
    expect(recorded[METRIC.resultsStored]).toBeUndefined();
    // Each function flushes once per invocation.
    expect(metrics.flushes).toBeGreaterThanOrEqual(2);

    // Its log lines, from the MCP function and the worker, carry its id, its type and one caller hash.
    const about = lines.filter((line) => line.fields.jobId === job.jobId);
    expect(about.map((line) => line.message)).toEqual(expect.arrayContaining(["Job started", "Job claimed"]));
    for (const line of about) expect(line.fields.type, line.message).toBe("slow_api");
    const callers = new Set(about.map((line) => line.fields.caller).filter((caller) => caller !== undefined));
    expect([...callers]).toHaveLength(1);
    expect([...callers][0]).toMatch(/^[0-9a-f]{16}$/);
    const claimed = about.find((line) => line.message === "Job claimed");
    expect(claimed?.fields.caller).toBe([...callers][0]);
  });

  it("a job that fails after retries: each retry counted, then one failure under its error code", async () => {
    const started = await callForJob(client, "start_flaky_api", {
      query: "metrics",
      delaySeconds: 0,
      failTimes: 10,
    });
    const job = await untilEnded(started.jobId);
    expect(job.status).toBe("failed");
    expect(job.attempt).toBeGreaterThan(1);

    const recorded = recordedFor("flaky_api");
    expect(recorded[METRIC.jobRetries]).toHaveLength(job.attempt - 1);
    expect(recorded[METRIC.jobsFailed]).toEqual([
      { value: 1, unit: "Count", dims: { JobType: "flaky_api", ErrorCode: job.error?.code } },
    ]);
    expect(recorded[METRIC.jobsCompleted]).toBeUndefined();
    // Time queued is the first claim's; the retries' claims do not count again.
    expect(recorded[METRIC.timeQueued]).toHaveLength(1);
    expect(recorded[METRIC.timeToTerminal]?.map((entry) => entry.value)).toEqual([
      millisBetween(job.createdAt, job.finishedAt),
    ]);
  });

  it("a cancelled job counts once, however often it is cancelled", async () => {
    const started = await callForJob(client, "start_hung_api", { query: "metrics" });
    const first = await callForJob(client, "cancel_job", { jobId: started.jobId });
    expect(first.status).toBe("cancelled");
    const again = await callForJob(client, "cancel_job", { jobId: started.jobId });
    expect(again.status).toBe("cancelled");

    const recorded = recordedFor("hung_api");
    expect(recorded[METRIC.jobsCancelled]).toEqual([
      { value: 1, unit: "Count", dims: { JobType: "hung_api" } },
    ]);
    expect(recorded[METRIC.timeToTerminal]?.map((entry) => entry.value)).toEqual([
      millisBetween(first.createdAt, first.finishedAt),
    ]);
  });

  it("a result kept in the result store counts with its bytes", async () => {
    const started = await callForJob(client, "start_export_api", {
      query: "metrics",
      rows: 2_000,
      delaySeconds: 0,
    });
    const job = await untilEnded(started.jobId);
    expect(job.status).toBe("completed");
    expect(job.resultStored).toBe("s3");

    const recorded = recordedFor("export_api");
    expect(recorded[METRIC.jobsCompleted]).toHaveLength(1);
    expect(recorded[METRIC.resultsStored]).toEqual([
      { value: 1, unit: "Count", dims: { JobType: "export_api" } },
    ]);
    expect(recorded[METRIC.resultBytes]).toEqual([
      { value: job.resultBytes, unit: "Bytes", dims: { JobType: "export_api" } },
    ]);
  });
});
