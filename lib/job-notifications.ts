import { Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Alarm, ComparisonOperator, type IAlarmAction, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ENV } from "../lambdas/shared/config/env-names.js";
import {
  NOTIFICATION_BATCH_SIZE,
  NOTIFICATION_FUNCTION_TIMEOUT_SECONDS,
  NOTIFICATION_MAX_CONCURRENCY,
  NOTIFICATION_MAX_RECEIVE_COUNT,
} from "../lambdas/shared/config/notification-queue.js";
import { acknowledgeQueueConsumer, VISIBILITY_TIMEOUT_FACTOR } from "./job-queue.js";
import type { JobTable } from "./job-table.js";
import { type FunctionTelemetry, ServiceFunction } from "./lambda-function.js";

/** The longest timeout the notification dead-letter queue's consumer may have (the dead-letter function's default). */
export const DEAD_LETTER_CONSUMER_TIMEOUT = Duration.seconds(30);

/**
 * Length of the generated secret: 44 characters from A–Z a–z 0–9 are valid base64 (44 is a multiple
 * of 4, no padding) of 33 bytes, about 262 bits of entropy. Secrets Manager cannot add the
 * `whsec_` prefix; the delivery function accepts the value with or without it.
 */
const SECRET_LENGTH = 44;

export interface JobNotificationsProps {
  /** The job table: the delivery function reads a job and records its delivery state in the row. */
  readonly table: JobTable;
  /**
   * Origins a caller's `callbackUrl` may point at (scheme://host[:port]).
   * @default - none: a start with a callbackUrl is refused
   */
  readonly callbackAllowedOrigins?: readonly string[];
  /**
   * An https URL notified of every job of the deployment, besides the caller's own callbackUrl.
   * @default - none
   */
  readonly defaultCallbackUrl?: string;
  /**
   * Delivery invocations at once (2–1000): bounds the connections to receivers.
   * @default NOTIFICATION_MAX_CONCURRENCY (5)
   */
  readonly maxConcurrency?: number;
  /**
   * Alarm when the notification dead-letter queue holds at least this many messages.
   * @default 1
   */
  readonly deadLetterDepth?: number;
  /** @default - none: the alarm shows in the CloudWatch console */
  readonly alarmActions?: readonly IAlarmAction[];
  /** What happens to the signing secret when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Tracing and the metrics namespace of its function. @default active tracing, "McpAsyncJobs" */
  readonly telemetry?: FunctionTelemetry;
}

/**
 * Completion webhooks: the notification queue and its dead-letter queue, the signing secret, the
 * delivery function (the only reader of the secret) and an alarm on the dead-letter queue. Functions
 * that end jobs put notifications on the queue (`bindProducer`); the MCP function also learns the
 * callback rules (`bindStarter`).
 */
export class JobNotifications extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  /** `whsec_` + this value is the Standard Webhooks secret receivers verify with. */
  public readonly secret: Secret;
  public readonly function: ServiceFunction;
  public readonly deadLetterDepth: Alarm;
  private readonly callbackEnvironment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: JobNotificationsProps) {
    super(scope, id);
    const origins = (props.callbackAllowedOrigins ?? []).map((origin) => requireOrigin(origin));
    if (props.defaultCallbackUrl !== undefined)
      requireHttpsUrl("defaultCallbackUrl", props.defaultCallbackUrl);
    this.callbackEnvironment = {
      ...(origins.length > 0 ? { [ENV.callbackAllowedOrigins]: origins.join(",") } : {}),
      ...(props.defaultCallbackUrl !== undefined
        ? { [ENV.defaultCallbackUrl]: props.defaultCallbackUrl }
        : {}),
    };

    const timeout = Duration.seconds(NOTIFICATION_FUNCTION_TIMEOUT_SECONDS);
    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      // Its consumer (the dead-letter function) runs up to DEAD_LETTER_CONSUMER_TIMEOUT.
      visibilityTimeout: Duration.seconds(
        DEAD_LETTER_CONSUMER_TIMEOUT.toSeconds() * VISIBILITY_TIMEOUT_FACTOR,
      ),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "Serverless-SQSRedrivePolicy",
      reason:
        "This is the notification dead-letter queue, the end of its redrive chain: only a delivery handler " +
        "that keeps crashing puts a message here. The dead-letter function settles it (the delivery ends " +
        "failed); a message it cannot settle stays 14 days and the depth alarm reports it to an operator.",
    });
    this.queue = new Queue(this, "Queue", {
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: NOTIFICATION_MAX_RECEIVE_COUNT },
    });

    this.secret = new Secret(this, "SigningSecret", {
      description: `Standard Webhooks signing secret of ${Stack.of(this).stackName}: receivers verify with "whsec_" + this value`,
      generateSecretString: { passwordLength: SECRET_LENGTH, excludePunctuation: true, includeSpace: false },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.secret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "Every receiver verifies deliveries with this secret; scheduled rotation would break verification " +
        "everywhere at once. Rotate by hand: put a new value, then update the receivers (deliveries in " +
        "between fail verification and are retried by the schedule).",
    });

    this.function = new ServiceFunction(this, "Function", {
      source: "webhooks",
      description: "Delivers signed completion webhooks (Standard Webhooks) with retries",
      timeout,
      memorySize: 256,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      telemetry: props.telemetry,
      environment: { [ENV.webhookSecretArn]: this.secret.secretArn },
    });
    this.secret.grantRead(this.function);
    props.table.bindUpdater(this.function);
    // The next attempt is a new, delayed message on the same queue.
    this.bindProducer(this.function);
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: NOTIFICATION_BATCH_SIZE,
        maxConcurrency: props.maxConcurrency ?? NOTIFICATION_MAX_CONCURRENCY,
        reportBatchItemFailures: true,
      }),
    );
    acknowledgeQueueConsumer(
      this.function,
      "the notification queue's redrive policy moves it to its dead-letter queue, where the alarm reports it",
    );

    this.deadLetterDepth = new Alarm(this, "DeadLetterDepth", {
      alarmDescription:
        "Completion webhooks reached the notification dead-letter queue: the delivery handler kept failing",
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: "Maximum",
      }),
      threshold: props.deadLetterDepth ?? 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    for (const action of props.alarmActions ?? []) this.deadLetterDepth.addAlarmAction(action);
  }

  /**
   * Makes `fn` (the dead-letter function) the consumer of the notification dead-letter queue, with
   * partial batch responses: each delivery SQS gave up on ends `failed`. Its timeout must be at most
   * DEAD_LETTER_CONSUMER_TIMEOUT; it needs the table (`JobTable.bindUpdater`), which it already has.
   */
  public bindDeadLetterConsumer(fn: LambdaFunction): void {
    if (fn.timeout === undefined || fn.timeout.toSeconds() > DEAD_LETTER_CONSUMER_TIMEOUT.toSeconds()) {
      throw new Error(
        `${fn.node.path}: the notification dead-letter consumer's timeout must be at most ${DEAD_LETTER_CONSUMER_TIMEOUT.toSeconds()} s`,
      );
    }
    fn.addEventSource(
      new SqsEventSource(this.deadLetterQueue, {
        batchSize: 10,
        maxConcurrency: 2,
        reportBatchItemFailures: true,
      }),
    );
  }

  /** Lets `fn` put notifications on the queue (a function that ends jobs), and tells it the queue URL. */
  public bindProducer(fn: LambdaFunction): void {
    this.queue.grantSendMessages(fn);
    fn.addEnvironment(ENV.notificationQueueUrl, this.queue.queueUrl);
  }

  /** The MCP function: a producer (cancel_job) that also checks each start's callbackUrl. */
  public bindStarter(fn: LambdaFunction): void {
    this.bindProducer(fn);
    for (const [name, value] of Object.entries(this.callbackEnvironment)) fn.addEnvironment(name, value);
  }
}

function requireOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`callbackAllowedOrigins: "${value}" is not an origin (https://host[:port])`);
  }
  if (url.protocol !== "https:" || url.origin !== value.replace(/\/$/, "")) {
    throw new Error(
      `callbackAllowedOrigins: "${value}" must be an https origin (https://host[:port]), no path`,
    );
  }
  return url.origin;
}

function requireHttpsUrl(name: string, value: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "https:" || url.username !== "" || url.password !== "") {
    throw new Error(`${name} must be an https URL without credentials; got "${value}"`);
  }
}
