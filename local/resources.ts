import {
  CreateTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  NOTIFICATION_FUNCTION_TIMEOUT_SECONDS,
  NOTIFICATION_MAX_RECEIVE_COUNT,
} from "../lambdas/shared/config/notification-queue.js";
import { SUBSCRIPTION_TABLE } from "../lambdas/shared/config/subscription-table.js";
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_WORKER_TIMEOUT_SECONDS,
  JOB_TABLE,
} from "../lambdas/shared/config/table-schema.js";

export interface JobResourceOptions {
  /** Prefix of every resource name, so tests can share one emulator without colliding. */
  readonly prefix: string;
  /** Receives before a message moves to the dead-letter queue. Default: DEFAULT_MAX_RECEIVE_COUNT. */
  readonly maxReceiveCount?: number;
  /** Default: six times DEFAULT_WORKER_TIMEOUT_SECONDS, as the stack sets it. */
  readonly visibilityTimeoutSeconds?: number;
}

export interface JobResources {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
  readonly resultBucketName: string;
  /** Completion webhooks: the notification queue and its dead-letter queue. */
  readonly notificationQueueUrl: string;
  readonly notificationQueueArn: string;
  readonly notificationDeadLetterQueueUrl: string;
  readonly notificationDeadLetterQueueArn: string;
  /** MCP Events: the subscription table. */
  readonly subscriptionTableName: string;
}

const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/**
 * Creates the job table, queues and results bucket with the same layout and settings as the CDK
 * stack (the emulator's S3 has no lifecycle rules: expired results stay until it stops).
 */
export async function createJobResources(
  clients: { readonly dynamo: DynamoDBClient; readonly sqs: SQSClient; readonly s3: S3Client },
  options: JobResourceOptions,
): Promise<JobResources> {
  const [tableName, queues, resultBucketName, notificationQueues, subscriptionTableName] = await Promise.all([
    createJobTable(clients.dynamo, `${options.prefix}-jobs`),
    createJobQueues(clients.sqs, options),
    createResultBucket(clients.s3, `${options.prefix}-results`.toLowerCase()),
    createNotificationQueues(clients.sqs, options.prefix),
    createSubscriptionTable(clients.dynamo, `${options.prefix}-subscriptions`),
  ]);
  return { tableName, ...queues, resultBucketName, ...notificationQueues, subscriptionTableName };
}

async function createResultBucket(s3: S3Client, bucketName: string): Promise<string> {
  await s3.send(new CreateBucketCommand({ Bucket: bucketName }));
  return bucketName;
}

/** The notification queue and its dead-letter queue, with the stack's settings. */
async function createNotificationQueues(
  sqs: SQSClient,
  prefix: string,
): Promise<
  Pick<
    JobResources,
    | "notificationQueueUrl"
    | "notificationQueueArn"
    | "notificationDeadLetterQueueUrl"
    | "notificationDeadLetterQueueArn"
  >
> {
  const notificationDeadLetterQueueUrl = await createQueue(sqs, `${prefix}-notifications-dlq`, {
    MessageRetentionPeriod: String(DEAD_LETTER_RETENTION_SECONDS),
  });
  const notificationDeadLetterQueueArn = await queueArnOf(sqs, notificationDeadLetterQueueUrl);
  const notificationQueueUrl = await createQueue(sqs, `${prefix}-notifications`, {
    VisibilityTimeout: String(6 * NOTIFICATION_FUNCTION_TIMEOUT_SECONDS),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: notificationDeadLetterQueueArn,
      maxReceiveCount: NOTIFICATION_MAX_RECEIVE_COUNT,
    }),
  });
  const notificationQueueArn = await queueArnOf(sqs, notificationQueueUrl);
  return {
    notificationQueueUrl,
    notificationQueueArn,
    notificationDeadLetterQueueUrl,
    notificationDeadLetterQueueArn,
  };
}

async function createJobTable(dynamo: DynamoDBClient, tableName: string): Promise<string> {
  const { partitionKey, ownerIndex, activeIndex, ttlAttribute } = JOB_TABLE;
  const keyNames = new Set<string>([
    partitionKey,
    ownerIndex.partitionKey,
    ownerIndex.sortKey,
    activeIndex.partitionKey,
    activeIndex.sortKey,
  ]);
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      // Every key is a string; a name the two indexes share may be defined only once.
      AttributeDefinitions: [...keyNames].map((name) => ({ AttributeName: name, AttributeType: "S" })),
      KeySchema: [{ AttributeName: partitionKey, KeyType: "HASH" }],
      GlobalSecondaryIndexes: [
        {
          IndexName: ownerIndex.name,
          KeySchema: [
            { AttributeName: ownerIndex.partitionKey, KeyType: "HASH" },
            { AttributeName: ownerIndex.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
        {
          IndexName: activeIndex.name,
          KeySchema: [
            { AttributeName: activeIndex.partitionKey, KeyType: "HASH" },
            { AttributeName: activeIndex.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: [...activeIndex.projectedAttributes] },
        },
      ],
    }),
  );
  return withTtlOnceActive(dynamo, tableName, ttlAttribute);
}

/** Waits for a new table to be active, then turns its TTL on. */
async function withTtlOnceActive(
  dynamo: DynamoDBClient,
  tableName: string,
  ttlAttribute: string,
): Promise<string> {
  await waitUntilTableExists(
    { client: dynamo, maxWaitTime: 30, minDelay: 1, maxDelay: 2 },
    { TableName: tableName },
  );
  await dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
    }),
  );
  return tableName;
}

/** The MCP Events subscription table: one partition per caller, TTL on. */
async function createSubscriptionTable(dynamo: DynamoDBClient, tableName: string): Promise<string> {
  const { partitionKey, sortKey, ttlAttribute } = SUBSCRIPTION_TABLE;
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: "S" },
        { AttributeName: sortKey, AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: partitionKey, KeyType: "HASH" },
        { AttributeName: sortKey, KeyType: "RANGE" },
      ],
    }),
  );
  return withTtlOnceActive(dynamo, tableName, ttlAttribute);
}

async function createJobQueues(
  sqs: SQSClient,
  options: JobResourceOptions,
): Promise<Pick<JobResources, "queueUrl" | "queueArn" | "deadLetterQueueUrl" | "deadLetterQueueArn">> {
  const deadLetterQueueUrl = await createQueue(sqs, `${options.prefix}-jobs-dlq`, {
    MessageRetentionPeriod: String(DEAD_LETTER_RETENTION_SECONDS),
  });
  const deadLetterQueueArn = await queueArnOf(sqs, deadLetterQueueUrl);
  const queueUrl = await createQueue(sqs, `${options.prefix}-jobs`, {
    VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 6 * DEFAULT_WORKER_TIMEOUT_SECONDS),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: deadLetterQueueArn,
      maxReceiveCount: options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
    }),
  });
  const queueArn = await queueArnOf(sqs, queueUrl);
  return { queueUrl, queueArn, deadLetterQueueUrl, deadLetterQueueArn };
}

async function createQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (QueueUrl === undefined) throw new Error(`CreateQueue returned no URL for ${name}`);
  return QueueUrl;
}

async function queueArnOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const arn = Attributes?.QueueArn;
  if (arn === undefined) throw new Error(`GetQueueAttributes returned no QueueArn for ${queueUrl}`);
  return arn;
}
