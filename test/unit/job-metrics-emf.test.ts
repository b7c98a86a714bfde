import { Metrics } from "@aws-lambda-powertools/metrics";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PowertoolsJobMetrics } from "../../lambdas/shared/adapters/powertools-metrics.js";
import { METRIC } from "../../lambdas/shared/domain/metrics.js";

interface EmfDocument {
  _aws: {
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [key: string]: unknown;
}

const saved = { ...process.env };

afterEach(() => {
  process.env = { ...saved };
  vi.restoreAllMocks();
});

/** The EMF lines Powertools writes while `run` records and flushes (dev mode writes through console.log). */
function emfLinesOf(run: (metrics: PowertoolsJobMetrics) => void): EmfDocument[] {
  process.env.POWERTOOLS_DEV = "true";
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  run(new PowertoolsJobMetrics(new Metrics({ namespace: "TestJobs", serviceName: "mcp-async-jobs" })));
  return lines.map((line) => JSON.parse(line) as EmfDocument);
}

describe("the Powertools adapter's embedded metrics", () => {
  it("writes one EMF document per dimension set at a flush, values under their names and units", () => {
    const documents = emfLinesOf((metrics) => {
      metrics.record(METRIC.jobsCompleted, 1, "Count", { JobType: "slow_api" });
      metrics.record(METRIC.runTime, 1500, "Milliseconds", { JobType: "slow_api" });
      metrics.record(METRIC.jobsFailed, 1, "Count", { JobType: "flaky_api", ErrorCode: "upstream_503" });
      metrics.record(METRIC.webhooksDelivered, 1, "Count");
      metrics.flush();
    });
    expect(documents).toHaveLength(3);
    const [completed, failed, webhooks] = documents;
    expect(completed?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: "TestJobs",
        Dimensions: [["service", "JobType"]],
        Metrics: [
          { Name: "JobsCompleted", Unit: "Count" },
          { Name: "RunTime", Unit: "Milliseconds" },
        ],
      },
    ]);
    expect(completed).toMatchObject({
      service: "mcp-async-jobs",
      JobType: "slow_api",
      JobsCompleted: 1,
      RunTime: 1500,
    });
    expect(failed?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([["service", "JobType", "ErrorCode"]]);
    expect(failed).toMatchObject({ JobType: "flaky_api", ErrorCode: "upstream_503", JobsFailed: 1 });
    expect(webhooks?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([["service"]]);
    expect(webhooks).toMatchObject({ WebhooksDelivered: 1 });
  });

  it("keeps several values of one metric in one document, and writes nothing when nothing was recorded", () => {
    const documents = emfLinesOf((metrics) => {
      metrics.record(METRIC.timeQueued, 10, "Milliseconds", { JobType: "slow_api" });
      metrics.record(METRIC.timeQueued, 30, "Milliseconds", { JobType: "slow_api" });
      metrics.flush();
      metrics.flush();
    });
    expect(documents).toHaveLength(1);
    expect(documents[0]).toMatchObject({ TimeQueued: [10, 30] });
  });
});
