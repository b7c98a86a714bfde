import { Duration, Validations } from "aws-cdk-lib";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_WORKER_TIMEOUT_SECONDS,
} from "../lambdas/shared/config/table-schema.js";

/**
 * AWS's rule for a queue that triggers Lambda: a visibility timeout of at least six times the function
 * timeout, so a message is not handed to a second worker while a retried invocation still holds it.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface JobQueueProps {
  /**
   * The timeout of the function that consumes the queue. The consumer takes its timeout from
   * `JobQueue.consumerTimeout`, and the visibility timeout is computed from the same `Duration`.
   * @default Duration.seconds(DEFAULT_WORKER_TIMEOUT_SECONDS)
   */
  readonly consumerTimeout?: Duration;
  /**
   * The timeout of the function that consumes the dead-letter queue; its visibility timeout is
   * `VISIBILITY_TIMEOUT_FACTOR` times this.
   * @default Duration.seconds(30)
   */
  readonly deadLetterConsumerTimeout?: Duration;
  /**
   * Receives per message before SQS moves it to the dead-letter queue.
   * @default DEFAULT_MAX_RECEIVE_COUNT (5)
   */
  readonly maxReceiveCount?: number;
  /**
   * How long the dead-letter queue keeps a message.
   * @default Duration.days(14), the SQS maximum
   */
  readonly deadLetterRetention?: Duration;
}

export interface ConsumerOptions {
  /** Messages per invocation (1–10). */
  readonly batchSize: number;
  /** At most this many concurrent invocations from this queue (2–1000). */
  readonly maxConcurrency: number;
}

/**
 * The job queue and its dead-letter queue: SSE with SQS-managed keys, TLS-only access policies, and a
 * redrive policy that moves a message after `maxReceiveCount` receives.
 */
export class JobQueue extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly maxReceiveCount: number;
  /** The timeout the consumer must use; the visibility timeout is `VISIBILITY_TIMEOUT_FACTOR` times this. */
  public readonly consumerTimeout: Duration;
  /** The timeout the dead-letter consumer must use. */
  public readonly deadLetterConsumerTimeout: Duration;

  constructor(scope: Construct, id: string, props: JobQueueProps = {}) {
    super(scope, id);
    this.consumerTimeout = props.consumerTimeout ?? Duration.seconds(DEFAULT_WORKER_TIMEOUT_SECONDS);
    this.deadLetterConsumerTimeout = props.deadLetterConsumerTimeout ?? Duration.seconds(30);
    this.maxReceiveCount = props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    if (!Number.isInteger(this.maxReceiveCount) || this.maxReceiveCount < 1 || this.maxReceiveCount > 1000) {
      throw new Error(`maxReceiveCount must be an integer from 1 to 1000, got ${this.maxReceiveCount}`);
    }

    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      retentionPeriod: props.deadLetterRetention ?? Duration.days(14),
      visibilityTimeout: Duration.seconds(
        this.deadLetterConsumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR,
      ),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "Serverless-SQSRedrivePolicy",
      reason:
        "This is the dead-letter queue, the end of the redrive chain: the dead-letter handler consumes it " +
        "and marks each job failed; what it cannot handle stays 14 days and trips the depth alarm.",
    });
    this.queue = new Queue(this, "Queue", {
      visibilityTimeout: Duration.seconds(this.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });
  }

  /** Lets `fn` send jobs (the MCP function), and tells it the queue URL. */
  public bindProducer(fn: LambdaFunction): void {
    this.queue.grantSendMessages(fn);
    fn.addEnvironment(ENV.queueUrl, this.queue.queueUrl);
  }

  /**
   * Makes `fn` the queue's consumer with partial batch responses. The event source grants receive,
   * delete and ChangeMessageVisibility (the worker's retry backoff); SendMessage on this queue only
   * lets the worker schedule the next check of a submit/check job as a delayed message.
   */
  public bindConsumer(fn: LambdaFunction, options: ConsumerOptions): void {
    assertTimeoutWithin(fn, this.consumerTimeout);
    this.queue.grantSendMessages(fn);
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: options.batchSize,
        maxConcurrency: options.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    fn.addEnvironment(ENV.queueUrl, this.queue.queueUrl);
    fn.addEnvironment(ENV.maxReceiveCount, String(this.maxReceiveCount));
    acknowledgeQueueConsumer(fn, "the job queue's redrive policy moves it to the dead-letter queue");
  }

  /** Makes `fn` the dead-letter queue's consumer, with partial batch responses. */
  public bindDeadLetterConsumer(fn: LambdaFunction, options: ConsumerOptions): void {
    assertTimeoutWithin(fn, this.deadLetterConsumerTimeout);
    fn.addEventSource(
      new SqsEventSource(this.deadLetterQueue, {
        batchSize: options.batchSize,
        maxConcurrency: options.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    acknowledgeQueueConsumer(
      fn,
      "it stays in the dead-letter queue (14 days), where the depth alarm reports it",
    );
  }
}

/** A function that only an SQS event source mapping invokes needs no Lambda-level failure target. */
export function acknowledgeQueueConsumer(fn: LambdaFunction, whereFailuresGo: string): void {
  Validations.of(fn).acknowledge(
    {
      id: "Serverless-LambdaDLQ",
      reason:
        "Only an SQS event source mapping invokes this function (synchronously); a Lambda dead-letter " +
        `target applies to asynchronous invocations and would never receive anything. A failed message: ${whereFailuresGo}.`,
    },
    {
      id: "Serverless-LambdaEventSourceMappingDestination",
      reason:
        "SQS event source mappings do not support on-failure destinations (only stream and Kafka sources " +
        `do); a message that keeps failing: ${whereFailuresGo}.`,
    },
  );
}

function assertTimeoutWithin(fn: LambdaFunction, limit: Duration): void {
  if (fn.timeout === undefined || fn.timeout.toSeconds() > limit.toSeconds()) {
    throw new Error(
      `${fn.node.path}: a consumer's timeout must be set and at most ${limit.toSeconds()} s ` +
        `(its queue's visibility timeout is ${VISIBILITY_TIMEOUT_FACTOR} times that)`,
    );
  }
}
