import { Aws, CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { JobAlarms } from "./alarms.js";
import { AsyncMcpJobs, type AsyncMcpJobsProps } from "./async-mcp-jobs.js";
import type { DeadLetterHandler } from "./dead-letter-handler.js";
import type { JobNotifications } from "./job-notifications.js";
import type { JobQueue } from "./job-queue.js";
import type { JobTable } from "./job-table.js";
import { DEFAULT_API_KEY_NAME, type McpAuth } from "./mcp-auth.js";
import type { McpEndpoint } from "./mcp-endpoint.js";
import type { ResultBucket } from "./result-bucket.js";
import type { JobWorker } from "./worker.js";

export interface McpAsyncJobsStackProps extends StackProps, AsyncMcpJobsProps {}

/**
 * This repository's stack: `AsyncMcpJobs` serving the demo job types (unless the props say
 * otherwise), and the outputs a deployer needs.
 */
export class McpAsyncJobsStack extends Stack {
  public readonly jobs: AsyncMcpJobs;
  public readonly table: JobTable;
  public readonly queue: JobQueue;
  public readonly auth: McpAuth;
  public readonly endpoint: McpEndpoint;
  public readonly worker: JobWorker;
  public readonly results: ResultBucket;
  public readonly deadLetterHandler: DeadLetterHandler;
  public readonly alarms: JobAlarms;
  public readonly notifications: JobNotifications;

  constructor(scope: Construct, id: string, props: McpAsyncJobsStackProps = {}) {
    super(scope, id, props);
    // "Default" is left out of logical IDs, so the resources keep the IDs they had as the stack's children.
    this.jobs = new AsyncMcpJobs(this, "Default", {
      ...props,
      includeDemoJobTypes: props.includeDemoJobTypes ?? true,
    });
    this.table = this.jobs.table;
    this.queue = this.jobs.queue;
    this.auth = this.jobs.auth;
    this.endpoint = this.jobs.endpoint;
    this.worker = this.jobs.worker;
    this.results = this.jobs.results;
    this.deadLetterHandler = this.jobs.deadLetterHandler;
    this.alarms = this.jobs.alarms;
    this.notifications = this.jobs.notifications;

    new CfnOutput(this, "McpUrl", {
      value: this.jobs.mcpUrl,
      description: "The remote MCP server URL (Streamable HTTP)",
    });
    new CfnOutput(this, "AuthMode", { value: this.auth.mode });
    new CfnOutput(this, "JobTableName", { value: this.table.table.tableName });
    new CfnOutput(this, "JobQueueUrl", { value: this.queue.queue.queueUrl });
    new CfnOutput(this, "DeadLetterQueueUrl", { value: this.queue.deadLetterQueue.queueUrl });
    new CfnOutput(this, "WebhookSecretArn", { value: this.notifications.secret.secretArn });
    new CfnOutput(this, "GetWebhookSecretCommand", {
      description: "Prints the Standard Webhooks secret (whsec_…) receivers verify deliveries with",
      value: `aws secretsmanager get-secret-value --region ${Aws.REGION} --secret-id ${this.notifications.secret.secretArn} --query "join('', ['whsec_', SecretString])" --output text`,
    });
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
