import { createHash, randomUUID } from "node:crypto";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { type Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { Context, SQSRecord } from "aws-lambda";
import { DynamoJobStore } from "../../lambdas/shared/adapters/dynamo-job-store.js";
import { SqsJobQueue } from "../../lambdas/shared/adapters/sqs-job-queue.js";
import type { WorkerConfig } from "../../lambdas/shared/config/config.js";
import { JOB_TABLE } from "../../lambdas/shared/config/table-schema.js";
import type { JobMessage } from "../../lambdas/shared/domain/job.js";
import type { Clock, NewJob } from "../../lambdas/shared/domain/ports.js";
import type { RunJobType } from "../../lambdas/shared/jobs/job-type.js";
import type { WorkerSettings } from "../../lambdas/shared/worker/worker-deps.js";
import type { LocalAws } from "./local-aws.js";

/** Real time shifted by an offset the test moves, so leases and expiry can pass without waiting. */
export class TestClock implements Clock {
  private offsetMs: number;

  constructor(startMs: number = Date.now()) {
    this.offsetMs = startMs - Date.now();
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** A clock that only moves when told to. */
export class FrozenClock implements Clock {
  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

export function uniqueOwner(): string {
  return `owner-${randomUUID()}`;
}

export function epochSeconds(epochMs: number = Date.now()): number {
  return Math.floor(epochMs / 1000);
}

/** A new job row as the start use case would build it. */
export function newJob(
  fields: { type?: string; owner?: string; input?: unknown; idempotencyKey?: string } & Partial<
    Pick<NewJob, "id" | "maxAttempts" | "expiresAt">
  > = {},
): NewJob {
  const type = fields.type ?? "slow_api";
  const inputJson = JSON.stringify(fields.input ?? { query: "q", delaySeconds: 0 });
  return {
    id: fields.id ?? randomUUID(),
    type,
    owner: fields.owner ?? uniqueOwner(),
    inputJson,
    inputHash: createHash("sha256").update(`${type}\n${inputJson}`).digest("hex"),
    ...(fields.idempotencyKey !== undefined ? { idempotencyKey: fields.idempotencyKey } : {}),
    maxAttempts: fields.maxAttempts ?? 3,
    expiresAt: fields.expiresAt ?? epochSeconds() + 3600,
  };
}

/** Small settings so that retries, cancel checks and deadlines take milliseconds. */
export function testSettings(overrides: Partial<WorkerSettings> = {}): WorkerSettings {
  return {
    maxReceiveCount: 5,
    resultMaxBytes: 10_000_000,
    resultInlineBytes: 16_000,
    retryBaseSeconds: 0,
    retryMaxSeconds: 2,
    deadlineMarginMs: 200,
    cancelCheckMs: 100,
    leaseMs: 30_000,
    storePatienceMs: 0,
    ...overrides,
  };
}

/** Worker config for the table and queue of a test, with the small test settings. */
export function workerConfig(aws: LocalAws, overrides: Partial<WorkerSettings> = {}): WorkerConfig {
  return {
    tableName: aws.resources.tableName,
    queueUrl: aws.resources.queueUrl,
    resultBucketName: aws.resources.resultBucketName,
    ...testSettings(overrides),
  };
}

export function storeFor(aws: LocalAws, clock?: Clock): DynamoJobStore {
  return new DynamoJobStore({
    client: aws.dynamo,
    tableName: aws.resources.tableName,
    ...(clock ? { clock } : {}),
  });
}

/** A Lambda context whose invocation ends `remainingMs` after it is made. */
export function lambdaContext(remainingMs = 30_000): Context {
  const deadline = Date.now() + remainingMs;
  const unsupported = (): never => {
    throw new Error("callback-style context methods are not supported");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "worker",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:worker",
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/worker",
    logStreamName: "test",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** A record for a message that never went through SQS: for cases where no receipt is used. */
export function syntheticRecord(body: string, receiveCount = 1, sentAtMs = Date.now()): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: `synthetic-${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(sentAtMs),
      SenderId: "test",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: createHash("md5").update(body).digest("hex"),
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:synthetic",
    awsRegion: "us-east-1",
  };
}

/** Sends a job message the way the start use case does. */
export async function enqueue(aws: LocalAws, message: JobMessage): Promise<void> {
  await new SqsJobQueue({ client: aws.sqs, queueUrl: aws.resources.queueUrl }).send(message);
}

/** Receives one message and shapes it as the Lambda event source would. */
export async function receiveRecord(aws: LocalAws, queueUrl = aws.resources.queueUrl): Promise<SQSRecord> {
  const { Messages } = await aws.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: 2,
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
    }),
  );
  const message = Messages?.[0];
  if (message === undefined) throw new Error(`No message arrived on ${queueUrl}`);
  return toRecord(message, queueUrl);
}

function toRecord(message: Message, queueUrl: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "",
      SentTimestamp: attributes.SentTimestamp ?? "",
      SenderId: attributes.SenderId ?? "",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? "",
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split("/").at(-1)}`,
    awsRegion: "us-east-1",
  };
}

/** The row exactly as stored, helper attributes included, bypassing the store's expiry rule. */
export async function rawItem(aws: LocalAws, id: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await aws.dynamo.send(
    new GetItemCommand({
      TableName: aws.resources.tableName,
      Key: { [JOB_TABLE.partitionKey]: { S: id } },
      ConsistentRead: true,
    }),
  );
  return Item === undefined ? undefined : unmarshall(Item);
}

export interface RunLog {
  readonly runs: Array<{ readonly jobId: string; readonly attempt: number }>;
}

/** The same job type, recording every run the worker starts. */
export function counted<T extends RunJobType>(type: T): T & RunLog {
  const runs: RunLog["runs"] = [];
  return {
    ...type,
    runs,
    run(input, context) {
      runs.push({ jobId: context.jobId, attempt: context.attempt });
      return type.run(input, context);
    },
  };
}

/** Receives at most one message now, without waiting; undefined when none is visible. */
export async function receiveNow(
  aws: LocalAws,
  queueUrl = aws.resources.queueUrl,
): Promise<SQSRecord | undefined> {
  const { Messages } = await aws.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ["All"],
    }),
  );
  const message = Messages?.[0];
  return message === undefined ? undefined : toRecord(message, queueUrl);
}

/**
 * Proves a retry's ChangeMessageVisibility took effect: the message is not receivable at once, and
 * is received again (the same message, one receive later) no sooner than `atLeastSeconds` after
 * `retriedAt`, and within `withinSeconds` — far sooner than the queue's own visibility timeout.
 */
export async function expectRedelivered(
  aws: LocalAws,
  record: SQSRecord,
  retriedAt: number,
  { atLeastSeconds, withinSeconds }: { atLeastSeconds: number; withinSeconds: number },
  queueUrl = aws.resources.queueUrl,
): Promise<SQSRecord> {
  if (atLeastSeconds > 0) {
    const early = await receiveNow(aws, queueUrl);
    if (early !== undefined && Date.now() - retriedAt < atLeastSeconds * 1000) {
      throw new Error(`message ${early.messageId} was receivable before its retry delay`);
    }
  }
  const deadline = retriedAt + withinSeconds * 1000;
  for (;;) {
    const again = await receiveNow(aws, queueUrl);
    if (again !== undefined) {
      const waitedMs = Date.now() - retriedAt;
      if (again.messageId !== record.messageId) throw new Error(`another message arrived: ${again.body}`);
      if (waitedMs < atLeastSeconds * 1000 - 50) throw new Error(`redelivered after ${waitedMs} ms only`);
      const before = Number(record.attributes.ApproximateReceiveCount);
      if (Number(again.attributes.ApproximateReceiveCount) !== before + 1) {
        throw new Error(`receive count ${again.attributes.ApproximateReceiveCount}, expected ${before + 1}`);
      }
      return again;
    }
    if (Date.now() > deadline) throw new Error(`message not redelivered within ${withinSeconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
