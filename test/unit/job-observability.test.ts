import type { Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import { MemoryJobMetrics } from "../../lambdas/shared/adapters/memory-metrics.js";
import { createTracer, instrumented } from "../../lambdas/shared/adapters/powertools-tracing.js";
import { EnqueueFailedError, LimitExceededError } from "../../lambdas/shared/domain/errors.js";
import type { JobMessage, JobRow } from "../../lambdas/shared/domain/job.js";
import type { Log, LogFields } from "../../lambdas/shared/domain/logger.js";
import { METRIC } from "../../lambdas/shared/domain/metrics.js";
import type { JobQueue } from "../../lambdas/shared/domain/ports.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";
import { callerHash } from "../../lambdas/shared/usecases/job-log.js";
import { JobService } from "../../lambdas/shared/usecases/job-service.js";
import { percentile, recentJobStats, summarizeJobs } from "../../lambdas/shared/usecases/job-stats.js";
import { summaryLine } from "../../local/stats-summary.js";
import { FrozenClock, uniqueOwner } from "../support/worker-kit.js";

class FakeQueue implements JobQueue {
  down = false;
  async send(_message: JobMessage): Promise<void> {
    if (this.down) throw new Error("queue unavailable");
  }
}

class CapturedLog implements Log {
  readonly lines: Array<{ level: string; message: string; fields: LogFields }> = [];
  info(message: string, fields: LogFields): void {
    this.lines.push({ level: "info", message, fields });
  }
  warn(message: string, fields: LogFields): void {
    this.lines.push({ level: "warn", message, fields });
  }
  error(message: string, fields: LogFields): void {
    this.lines.push({ level: "error", message, fields });
  }
}

function serviceWith(limits = { maxActiveJobs: 0, maxStartsPerMinute: 0 }) {
  const clock = new FrozenClock(Date.UTC(2026, 0, 1, 12));
  const store = new MemoryJobStore({ clock });
  const queue = new FakeQueue();
  const metrics = new MemoryJobMetrics();
  const log = new CapturedLog();
  const service = new JobService({
    store,
    quotas: store,
    queue,
    clock,
    log,
    jobTtlSeconds: 3600,
    limits,
    metrics,
  });
  return { service, store, queue, metrics, log, clock, owner: uniqueOwner() };
}

const input = { query: "q", delaySeconds: 0 };

describe("what the tools' use cases count", () => {
  it("a start counts once; its idempotent repeat does not; the log line names job, type and caller hash", async () => {
    const { service, metrics, log, owner } = serviceWith();
    const job = await service.start({ owner, jobType: slowApi, input, idempotencyKey: "k" });
    await service.start({ owner, jobType: slowApi, input, idempotencyKey: "k" });
    expect(metrics.values(METRIC.jobsStarted, { JobType: "slow_api" })).toEqual([1]);
    const started = log.lines.filter((line) => line.message === "Job started");
    expect(started).toEqual([
      {
        level: "info",
        message: "Job started",
        fields: { jobId: job.id, type: "slow_api", caller: callerHash(owner) },
      },
    ]);
    expect(callerHash(owner)).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(log.lines)).not.toContain(owner);
  });

  it("a refusal by each caller limit counts under its limit's name", async () => {
    const { service, metrics, owner } = serviceWith({ maxActiveJobs: 1, maxStartsPerMinute: 0 });
    await service.start({ owner, jobType: slowApi, input });
    await expect(service.start({ owner, jobType: slowApi, input })).rejects.toThrow(LimitExceededError);
    expect(metrics.recorded.filter((entry) => entry.name === METRIC.callerLimitRefusals)).toEqual([
      { name: METRIC.callerLimitRefusals, value: 1, unit: "Count", dimensions: { Limit: "active_jobs" } },
    ]);

    const perMinute = serviceWith({ maxActiveJobs: 0, maxStartsPerMinute: 1 });
    await perMinute.service.start({ owner, jobType: slowApi, input });
    await expect(perMinute.service.start({ owner, jobType: slowApi, input })).rejects.toThrow(
      LimitExceededError,
    );
    expect(perMinute.metrics.values(METRIC.callerLimitRefusals, { Limit: "starts_per_minute" })).toEqual([1]);
  });

  it("a failed enqueue counts as a queue call failure and starts nothing", async () => {
    const { service, queue, metrics, owner } = serviceWith();
    queue.down = true;
    await expect(service.start({ owner, jobType: slowApi, input })).rejects.toThrow(EnqueueFailedError);
    expect(metrics.total(METRIC.queueCallFailures)).toBe(1);
    expect(metrics.total(METRIC.jobsStarted)).toBe(0);
  });

  it("a cancel counts when it ends the job, not when it finds the job ended", async () => {
    const { service, metrics, clock, owner } = serviceWith();
    const job = await service.start({ owner, jobType: slowApi, input });
    clock.advance(1_500);
    await service.cancel(owner, job.id);
    clock.advance(1_000);
    await service.cancel(owner, job.id);
    expect(metrics.values(METRIC.jobsCancelled, { JobType: "slow_api" })).toEqual([1]);
    expect(metrics.values(METRIC.timeToTerminal, { JobType: "slow_api" })).toEqual([1_500]);
  });
});

function row(overrides: Partial<JobRow>): JobRow {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    type: "slow_api",
    owner: "o",
    status: "completed",
    inputJson: "{}",
    inputHash: "h",
    attempt: 1,
    maxAttempts: 3,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    expiresAt: 2_000_000_000,
    ...overrides,
  };
}

describe("job statistics", () => {
  it("nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
  });

  it("counts by status and type, and takes times only from jobs that have them", () => {
    const stats = summarizeJobs(
      [
        row({ startedAt: "2026-01-01T00:00:00.100Z", finishedAt: "2026-01-01T00:00:02.100Z" }),
        row({
          type: "export_api",
          status: "failed",
          startedAt: "2026-01-01T00:00:00.300Z",
          finishedAt: "2026-01-01T00:00:01.300Z",
        }),
        row({ status: "queued" }),
      ],
      false,
    );
    expect(stats.byStatus).toEqual({ queued: 1, running: 0, completed: 1, failed: 1, cancelled: 0 });
    expect(stats.byType.slow_api).toEqual({
      queued: 1,
      running: 0,
      completed: 1,
      failed: 0,
      cancelled: 0,
      total: 2,
    });
    expect(stats.byType.export_api?.total).toBe(1);
    expect(stats.timeQueuedMs).toEqual({ count: 2, p50: 100, p90: 300, p99: 300, max: 300 });
    expect(stats.runTimeMs).toMatchObject({ count: 2, p50: 1_000, max: 2_000 });
  });

  it("pages through the owner's jobs up to the limit and says when older ones were left out", async () => {
    const all = Array.from({ length: 250 }, () => row({}));
    const list = async (query: { limit: number; cursor?: string }) => {
      const from = Number(query.cursor ?? 0);
      const jobs = all.slice(from, from + query.limit);
      const next = from + jobs.length;
      return { jobs, ...(next < all.length ? { nextCursor: String(next) } : {}) };
    };
    expect(await recentJobStats(list, 120)).toMatchObject({ jobsCounted: 120, truncated: true });
    expect(await recentJobStats(list, 1_000)).toMatchObject({ jobsCounted: 250, truncated: false });
  });

  it("the local summary line shows the same totals and percentiles", () => {
    const metrics = new MemoryJobMetrics();
    metrics.record(METRIC.jobsStarted, 1, "Count", { JobType: "a" });
    metrics.record(METRIC.jobsStarted, 1, "Count", { JobType: "b" });
    metrics.record(METRIC.jobsCompleted, 1, "Count", { JobType: "a" });
    metrics.record(METRIC.timeQueued, 40, "Milliseconds", { JobType: "a" });
    metrics.record(METRIC.runTime, 2_500, "Milliseconds", { JobType: "a" });
    metrics.record(METRIC.resultsStored, 1, "Count", { JobType: "a" });
    metrics.record(METRIC.resultBytes, 10_400_000, "Bytes", { JobType: "a" });
    expect(summaryLine(metrics)).toBe(
      "jobs: 2 started, 1 completed, 0 failed, 0 cancelled, 0 retries | queued p50 40 ms p99 40 ms | run p50 2.5 s p99 2.5 s | stored 1 (10.4 MB) | webhooks 0 delivered, 0 retried, 0 failed | refused 0 | failed calls 0",
    );
  });
});

describe("every invocation", () => {
  it("flushes the metrics when the handler ends, also when it throws; the tracer is off outside Lambda", async () => {
    const metrics = new MemoryJobMetrics();
    const tracer = createTracer("test", true);
    expect(tracer.isTracingEnabled()).toBe(false);
    const ok = instrumented(async (event: number) => event * 2, { tracer, metrics });
    const failing = instrumented(
      async (_event: number): Promise<number> => {
        throw new Error("boom");
      },
      { tracer, metrics },
    );
    const context = {} as Context;
    expect(await ok(21, context)).toBe(42);
    expect(metrics.flushes).toBe(1);
    await expect(failing(1, context)).rejects.toThrow("boom");
    expect(metrics.flushes).toBe(2);
  });
});
