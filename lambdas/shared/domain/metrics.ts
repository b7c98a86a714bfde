/**
 * The job metrics, by name: what the use cases and the worker record, what the Powertools adapter
 * writes as CloudWatch embedded metrics, and what the dashboard graphs. Names are a contract.
 */
export const METRIC = {
  /** A start created a job (an idempotent repeat is not counted). Dimension: JobType. */
  jobsStarted: "JobsStarted",
  /** A run's completion was recorded. Dimension: JobType. */
  jobsCompleted: "JobsCompleted",
  /** A job ended failed. Dimensions: JobType, ErrorCode. */
  jobsFailed: "JobsFailed",
  /** A caller's cancel ended an open job. Dimension: JobType. */
  jobsCancelled: "JobsCancelled",
  /** A run or a check failed transiently and was released for another attempt. Dimension: JobType. */
  jobRetries: "JobRetries",
  /** Milliseconds from the start to the first claim. Dimension: JobType. */
  timeQueued: "TimeQueued",
  /** Milliseconds from the first claim to the end (retries and check waits included). Dimension: JobType. */
  runTime: "RunTime",
  /** Milliseconds from the start to the end, whatever the outcome. Dimension: JobType. */
  timeToTerminal: "TimeToTerminal",
  /** Checks a submit/check job took, recorded when a check ends it. Dimension: JobType. */
  checksPerJob: "ChecksPerJob",
  /** A result went to the result store (S3). Dimension: JobType. */
  resultsStored: "ResultsStored",
  /** Bytes of a result kept in the result store. Dimension: JobType. */
  resultBytes: "ResultBytes",
  /** Completion webhook attempts, by what they came to. */
  webhooksDelivered: "WebhooksDelivered",
  webhookRetries: "WebhookRetries",
  webhooksFailed: "WebhooksFailed",
  /** A start refused by a per-caller limit. Dimension: Limit (active_jobs, starts_per_minute). */
  callerLimitRefusals: "CallerLimitRefusals",
  /** The job table could not be written or read where an outcome depended on it. */
  storeCallFailures: "StoreCallFailures",
  /** The job queue could not be sent to at a start. */
  queueCallFailures: "QueueCallFailures",
  /** A worker delivery failed before its outcome was recorded (a store or queue call failed); it comes back. */
  unrecordedDeliveries: "UnrecordedDeliveries",
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export type MetricUnit = "Count" | "Milliseconds" | "Bytes";

/** Few and bounded: a job type, an error code, a limit name. Never a job id or a caller. */
export interface MetricDimensions {
  readonly JobType?: string;
  readonly ErrorCode?: string;
  readonly Limit?: string;
}

/** Where decisions are counted. Recording never throws and never waits; `flush` ends an invocation. */
export interface JobMetrics {
  record(name: MetricName, value: number, unit: MetricUnit, dimensions?: MetricDimensions): void;
  /** Writes what was recorded since the last flush (once per invocation). */
  flush(): void;
}

export const noMetrics: JobMetrics = { record() {}, flush() {} };

/** Counts one occurrence. */
export function count(metrics: JobMetrics, name: MetricName, dimensions?: MetricDimensions): void {
  metrics.record(name, 1, "Count", dimensions);
}
