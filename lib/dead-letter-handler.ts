import type { RemovalPolicy } from "aws-cdk-lib";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { JobQueue } from "./job-queue.js";
import type { JobTable } from "./job-table.js";
import { type FunctionTelemetry, ServiceFunction } from "./lambda-function.js";

export interface DeadLetterHandlerProps {
  readonly table: JobTable;
  /** Its dead-letter queue is consumed; the handler's timeout is the queue's `deadLetterConsumerTimeout`. */
  readonly queue: JobQueue;
  /** @default 10 */
  readonly batchSize?: number;
  /** @default 2, the minimum: dead letters are rare and need no speed */
  readonly maxConcurrency?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * The function's entry, a file exporting `handler` (with the job types whose `cancel` it calls).
   * @default `lambdas/dead-letter/handler.ts` (the demo job types)
   */
  readonly entry?: string;
  /** Tracing and the metrics namespace of its function. @default active tracing, "McpAsyncJobs" */
  readonly telemetry?: FunctionTelemetry;
}

/**
 * Consumes the dead-letter queue and marks each job that is still open as failed, so a message that
 * ran out of receives never leaves a job stuck in `queued` or `running`. `AsyncMcpJobs` also makes it
 * the consumer of the notification dead-letter queue (`JobNotifications.bindDeadLetterConsumer`).
 */
export class DeadLetterHandler extends Construct {
  public readonly function: ServiceFunction;

  constructor(scope: Construct, id: string, props: DeadLetterHandlerProps) {
    super(scope, id);
    this.function = new ServiceFunction(this, "Function", {
      source: "dead-letter",
      entry: props.entry,
      description: "Marks jobs whose messages were dead-lettered as failed",
      timeout: props.queue.deadLetterConsumerTimeout,
      memorySize: 256,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      telemetry: props.telemetry,
    });
    props.table.bindUpdater(this.function);
    props.queue.bindDeadLetterConsumer(this.function, {
      batchSize: props.batchSize ?? 10,
      maxConcurrency: props.maxConcurrency ?? 2,
    });
  }
}
