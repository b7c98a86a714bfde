import type { MemoryJobMetrics } from "../lambdas/shared/adapters/memory-metrics.js";
import { METRIC } from "../lambdas/shared/domain/metrics.js";
import { percentilesOf } from "../lambdas/shared/usecases/job-stats.js";

/** `npm start` prints a summary every this many seconds when set (off by default). */
export const STATS_INTERVAL_ENV = "STATS_INTERVAL_SECONDS";

function duration(ms: number | undefined): string {
  if (ms === undefined) return "-";
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

function size(bytes: number): string {
  if (bytes < 1_000_000) return `${Math.round(bytes / 1_000)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/**
 * One line of the local stack's job metrics since it started: the same numbers the deployed
 * functions write as embedded metrics, summed over every job type.
 */
export function summaryLine(metrics: MemoryJobMetrics): string {
  const total = (name: Parameters<MemoryJobMetrics["total"]>[0]): number => metrics.total(name);
  const queued = percentilesOf(metrics.values(METRIC.timeQueued));
  const run = percentilesOf(metrics.values(METRIC.runTime));
  return [
    `jobs: ${total(METRIC.jobsStarted)} started, ${total(METRIC.jobsCompleted)} completed, ${total(METRIC.jobsFailed)} failed, ${total(METRIC.jobsCancelled)} cancelled, ${total(METRIC.jobRetries)} retries`,
    `queued p50 ${duration(queued.p50)} p99 ${duration(queued.p99)}`,
    `run p50 ${duration(run.p50)} p99 ${duration(run.p99)}`,
    `stored ${total(METRIC.resultsStored)} (${size(total(METRIC.resultBytes))})`,
    `webhooks ${total(METRIC.webhooksDelivered)} delivered, ${total(METRIC.webhookRetries)} retried, ${total(METRIC.webhooksFailed)} failed`,
    `refused ${total(METRIC.callerLimitRefusals)}`,
    `failed calls ${total(METRIC.storeCallFailures) + total(METRIC.queueCallFailures) + total(METRIC.unrecordedDeliveries)}`,
  ].join(" | ");
}

/** The summary interval from the environment: undefined when unset or 0; a bad value throws. */
export function statsIntervalSeconds(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env[STATS_INTERVAL_ENV];
  if (raw === undefined || raw === "" || raw === "0") return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 86_400) {
    throw new Error(
      `${STATS_INTERVAL_ENV} must be a number of seconds from 1 to 86400 (or 0: off), got "${raw}"`,
    );
  }
  return seconds;
}
