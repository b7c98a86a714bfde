import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import type { IAlarmAction } from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_WORKER_TIMEOUT_SECONDS,
} from "../lambdas/shared/config/table-schema.js";
import { JobAlarms } from "./alarms.js";
import { DeadLetterHandler } from "./dead-letter-handler.js";
import { JobQueue } from "./job-queue.js";
import { JobTable } from "./job-table.js";
import { DEFAULT_API_KEY_NAME, McpAuth, type McpAuthProps } from "./mcp-auth.js";
import { McpEndpoint, type McpEndpointProps } from "./mcp-endpoint.js";
import { JobWorker } from "./worker.js";

/** The endpoint settings the stack passes through unchanged (documented on McpEndpointProps). */
type EndpointSettings = Pick<
  McpEndpointProps,
  | "jobTtl"
  | "callerMaxActiveJobs"
  | "callerMaxStartsPerMinute"
  | "allowedOrigins"
  | "throttleRateLimit"
  | "throttleBurstLimit"
>;

export interface McpAsyncJobsStackProps extends StackProps, EndpointSettings {
  /** Caller authentication (mode, JWT settings, the opt-in for `none`). @default api-key mode */
  readonly auth?: Omit<McpAuthProps, "removalPolicy">;
  /**
   * What happens to the data (table, API key secret, log groups) on `cdk destroy`. `DESTROY` suits a
   * development stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** @default Duration.seconds(DEFAULT_WORKER_TIMEOUT_SECONDS) */
  readonly workerTimeout?: Duration;
  /** @default DEFAULT_MAX_RECEIVE_COUNT */
  readonly maxReceiveCount?: number;
  /** Job messages per worker invocation. @default WORKER_BATCH_SIZE (1) */
  readonly workerBatchSize?: number;
  /** Worker invocations (and so jobs) at once, 2–1000: protects the slow API. @default WORKER_MAX_CONCURRENCY (20) */
  readonly workerMaxConcurrency?: number;
  /** @default - none */
  readonly alarmActions?: readonly IAlarmAction[];
}

/** Async jobs for MCP tools: the endpoint, the job table, the job queue, the worker and their alarms. */
export class McpAsyncJobsStack extends Stack {
  public readonly table: JobTable;
  public readonly queue: JobQueue;
  public readonly auth: McpAuth;
  public readonly endpoint: McpEndpoint;
  public readonly worker: JobWorker;
  public readonly deadLetterHandler: DeadLetterHandler;
  public readonly alarms: JobAlarms;

  constructor(scope: Construct, id: string, props: McpAsyncJobsStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.auth = new McpAuth(this, "Auth", { ...props.auth, removalPolicy });
    this.table = new JobTable(this, "Jobs", { removalPolicy });
    this.queue = new JobQueue(this, "JobQueue", {
      consumerTimeout: props.workerTimeout ?? Duration.seconds(DEFAULT_WORKER_TIMEOUT_SECONDS),
      maxReceiveCount: props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
    });
    this.endpoint = new McpEndpoint(this, "Mcp", {
      table: this.table,
      queue: this.queue,
      auth: this.auth,
      jobTtl: props.jobTtl,
      callerMaxActiveJobs: props.callerMaxActiveJobs,
      callerMaxStartsPerMinute: props.callerMaxStartsPerMinute,
      allowedOrigins: props.allowedOrigins,
      throttleRateLimit: props.throttleRateLimit,
      throttleBurstLimit: props.throttleBurstLimit,
      logRemovalPolicy: removalPolicy,
    });
    this.worker = new JobWorker(this, "Worker", {
      table: this.table,
      queue: this.queue,
      batchSize: props.workerBatchSize,
      maxConcurrency: props.workerMaxConcurrency,
      logRemovalPolicy: removalPolicy,
    });
    this.deadLetterHandler = new DeadLetterHandler(this, "DeadLetters", {
      table: this.table,
      queue: this.queue,
      logRemovalPolicy: removalPolicy,
    });
    this.alarms = new JobAlarms(this, "Alarms", { queue: this.queue, actions: props.alarmActions });

    new CfnOutput(this, "McpUrl", {
      value: this.endpoint.url,
      description: "The remote MCP server URL (Streamable HTTP)",
    });
    new CfnOutput(this, "AuthMode", { value: this.auth.mode });
    new CfnOutput(this, "JobTableName", { value: this.table.table.tableName });
    new CfnOutput(this, "JobQueueUrl", { value: this.queue.queue.queueUrl });
    new CfnOutput(this, "DeadLetterQueueUrl", { value: this.queue.deadLetterQueue.queueUrl });
    const secret = this.auth.apiKeysSecret;
    if (secret) {
      new CfnOutput(this, "ApiKeySecretArn", { value: secret.secretArn });
      new CfnOutput(this, "ApiKeySecretName", { value: secret.secretName });
      new CfnOutput(this, "GetApiKeyCommand", {
        description: `Prints the API keys as JSON; send the "${DEFAULT_API_KEY_NAME}" one as 'Authorization: Bearer <key>'`,
        value: `aws secretsmanager get-secret-value --region ${Aws.REGION} --secret-id ${secret.secretArn} --query SecretString --output text`,
      });
    }
  }
}
