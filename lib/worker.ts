import type { RemovalPolicy } from "aws-cdk-lib";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";
import { WORKER_BATCH_SIZE, WORKER_MAX_CONCURRENCY } from "../lambdas/shared/config/functions.js";
import {
  DEFAULT_RESULT_MAX_BYTES,
  MAX_RESULT_MAX_BYTES,
  RESULT_INLINE_BYTES,
} from "../lambdas/shared/config/table-schema.js";
import type { JobIntegrations } from "./job-integrations.js";
import type { JobQueue } from "./job-queue.js";
import type { JobTable } from "./job-table.js";
import { type FunctionTelemetry, ServiceFunction } from "./lambda-function.js";
import type { ResultBucket } from "./result-bucket.js";

export interface JobWorkerProps {
  readonly table: JobTable;
  /** The worker's timeout is the queue's `consumerTimeout`, so the visibility timeout always fits it. */
  readonly queue: JobQueue;
  /** Where results larger than the row's inline bound go. */
  readonly results: ResultBucket;
  /**
   * Messages per invocation. The worker runs a batch's jobs concurrently, but the invocation holds its
   * concurrency slot until the longest of them ends, so a short job can wait behind a long one.
   * @default WORKER_BATCH_SIZE (1)
   */
  readonly batchSize?: number;
  /**
   * At most this many worker invocations at once: protects the slow API and the account's
   * concurrency (2–1000).
   * @default WORKER_MAX_CONCURRENCY (20)
   */
  readonly maxConcurrency?: number;
  /**
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Bytes of JSON a result may take at all (inline up to JOB_RESULT_INLINE_BYTES, the rest in the
   * results bucket), 1 000 to MAX_RESULT_MAX_BYTES.
   * @default DEFAULT_RESULT_MAX_BYTES
   */
  readonly resultMaxBytes?: number;
  /**
   * Bytes of JSON a result may take inline in its row, 0 to RESULT_INLINE_BYTES.max; larger ones go
   * to the results bucket.
   * @default RESULT_INLINE_BYTES.default
   */
  readonly resultInlineBytes?: number;
  /** Declared HTTP integrations the worker runs (bundled, with read access to their secret). @default - none */
  readonly integrations?: JobIntegrations;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Tracing and the metrics namespace of its function. @default active tracing, "McpAsyncJobs" */
  readonly telemetry?: FunctionTelemetry;
  /** The function's entry, a file exporting `handler`. @default `lambdas/worker/handler.ts` (the demo job types) */
  readonly entry?: string;
}

/** The worker: consumes the job queue, runs each job against its slow API and writes the outcome. */
export class JobWorker extends Construct {
  public readonly function: ServiceFunction;

  constructor(scope: Construct, id: string, props: JobWorkerProps) {
    super(scope, id);
    const resultMaxBytes = props.resultMaxBytes ?? DEFAULT_RESULT_MAX_BYTES;
    if (
      !Number.isInteger(resultMaxBytes) ||
      resultMaxBytes < 1_000 ||
      resultMaxBytes > MAX_RESULT_MAX_BYTES
    ) {
      throw new Error(
        `resultMaxBytes must be a whole number from 1000 to ${MAX_RESULT_MAX_BYTES}; got ${resultMaxBytes}`,
      );
    }
    const resultInlineBytes = props.resultInlineBytes ?? RESULT_INLINE_BYTES.default;
    if (
      !Number.isInteger(resultInlineBytes) ||
      resultInlineBytes < 0 ||
      resultInlineBytes > RESULT_INLINE_BYTES.max
    ) {
      throw new Error(
        `resultInlineBytes must be a whole number from 0 to ${RESULT_INLINE_BYTES.max}; got ${resultInlineBytes}`,
      );
    }
    this.function = new ServiceFunction(this, "Function", {
      source: "worker",
      entry: props.entry,
      description: "Runs queued MCP jobs against their slow APIs",
      timeout: props.queue.consumerTimeout,
      memorySize: props.memorySize ?? 256,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      telemetry: props.telemetry,
      environment: {
        [ENV.resultMaxBytes]: String(resultMaxBytes),
        [ENV.resultInlineBytes]: String(resultInlineBytes),
      },
      bundledFiles: props.integrations?.bundledFiles,
    });
    props.integrations?.bindWorker(this.function);
    props.table.bindUpdater(this.function);
    props.results.bindWriter(this.function);
    props.queue.bindConsumer(this.function, {
      batchSize: props.batchSize ?? WORKER_BATCH_SIZE,
      maxConcurrency: props.maxConcurrency ?? WORKER_MAX_CONCURRENCY,
    });
  }
}
