import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DescribeTableCommand, DescribeTimeToLiveCommand, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DEFAULT_MAX_RECEIVE_COUNT, JOB_TABLE } from "../../lambdas/shared/config/table-schema.js";
import { localAwsClients } from "../../local/aws-clients.js";
import { startEmulators } from "../../local/emulators.js";
import {
  type SqsBatchHandler,
  type SqsPoller,
  type SqsPollerOptions,
  startSqsPoller,
} from "../../local/sqs-poller.js";
import { countMessages, type LocalAws, useLocalAws } from "../support/local-aws.js";

const eventually = { timeout: 15_000, interval: 100 };

describe("job resources", () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await useLocalAws();
  });

  it("creates the table with the TTL attribute and both indexes", async () => {
    const { Table } = await aws.dynamo.send(new DescribeTableCommand({ TableName: aws.resources.tableName }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    expect(Table?.KeySchema).toEqual([{ AttributeName: JOB_TABLE.partitionKey, KeyType: "HASH" }]);
    const indexes = Object.fromEntries(
      (Table?.GlobalSecondaryIndexes ?? []).map((index) => [
        index.IndexName,
        { keys: index.KeySchema, projection: index.Projection },
      ]),
    );
    expect(indexes).toEqual({
      [JOB_TABLE.ownerIndex.name]: {
        keys: [
          { AttributeName: JOB_TABLE.ownerIndex.partitionKey, KeyType: "HASH" },
          { AttributeName: JOB_TABLE.ownerIndex.sortKey, KeyType: "RANGE" },
        ],
        projection: { ProjectionType: "ALL" },
      },
      [JOB_TABLE.activeIndex.name]: {
        keys: [
          { AttributeName: JOB_TABLE.activeIndex.partitionKey, KeyType: "HASH" },
          { AttributeName: JOB_TABLE.activeIndex.sortKey, KeyType: "RANGE" },
        ],
        projection: {
          ProjectionType: "INCLUDE",
          NonKeyAttributes: [...JOB_TABLE.activeIndex.projectedAttributes],
        },
      },
    });

    const { TimeToLiveDescription } = await aws.dynamo.send(
      new DescribeTimeToLiveCommand({ TableName: aws.resources.tableName }),
    );
    expect(TimeToLiveDescription).toEqual({
      TimeToLiveStatus: "ENABLED",
      AttributeName: JOB_TABLE.ttlAttribute,
    });
  });

  it("gives the job queue a redrive policy to the dead-letter queue", async () => {
    const { Attributes } = await aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: aws.resources.queueUrl, AttributeNames: ["All"] }),
    );
    expect(JSON.parse(Attributes?.RedrivePolicy ?? "null")).toEqual({
      deadLetterTargetArn: aws.resources.deadLetterQueueArn,
      maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT,
    });
    expect(Attributes?.QueueArn).toBe(aws.resources.queueArn);

    const { Attributes: dlq } = await aws.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: aws.resources.deadLetterQueueUrl,
        AttributeNames: ["MessageRetentionPeriod"],
      }),
    );
    expect(dlq?.MessageRetentionPeriod).toBe(String(14 * 24 * 60 * 60));
  });
});

describe("SQS poller", () => {
  const pollers: SqsPoller[] = [];
  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
  });

  function poll(aws: LocalAws, handler: SqsBatchHandler, options: Partial<SqsPollerOptions> = {}): SqsPoller {
    const poller = startSqsPoller({
      sqs: aws.sqs,
      queueUrl: aws.resources.queueUrl,
      queueArn: aws.resources.queueArn,
      region: aws.endpoints.region,
      functionTimeoutMs: 30_000,
      handler,
      ...options,
    });
    pollers.push(poller);
    return poller;
  }

  async function send(aws: LocalAws, body: string): Promise<string> {
    const { MessageId } = await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: aws.resources.queueUrl,
        MessageBody: body,
        MessageAttributes: { kind: { DataType: "String", StringValue: "demo" } },
      }),
    );
    if (MessageId === undefined) throw new Error("SendMessage returned no MessageId");
    return MessageId;
  }

  // Makes a failed record come back at once instead of after the visibility timeout. Only for
  // records that fail: fauxqs forgets the receipt handle, so a later delete with it is a silent no-op.
  async function releaseNow(sqs: SQSClient, queueUrl: string, record: SQSRecord): Promise<void> {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: 0,
      }),
    );
  }

  it("delivers a well-formed SQSEvent and deletes the message when nothing failed", async () => {
    const aws = await useLocalAws();
    const calls: Array<{ event: SQSEvent; remainingMs: number; requestId: string }> = [];
    poll(aws, async (event, context) => {
      calls.push({ event, remainingMs: context.getRemainingTimeInMillis(), requestId: context.awsRequestId });
    });

    const body = JSON.stringify({ jobId: "j1" });
    const messageId = await send(aws, body);

    await vi.waitFor(() => expect(calls).toHaveLength(1), eventually);
    const call = calls[0];
    expect(call?.event.Records).toEqual([
      {
        messageId,
        receiptHandle: expect.any(String),
        body,
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: expect.stringMatching(/^\d+$/),
          SenderId: expect.any(String),
          ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
        },
        messageAttributes: {
          kind: { dataType: "String", stringValue: "demo", stringListValues: [], binaryListValues: [] },
        },
        md5OfBody: createHash("md5").update(body).digest("hex"),
        md5OfMessageAttributes: expect.any(String),
        eventSource: "aws:sqs",
        eventSourceARN: aws.resources.queueArn,
        awsRegion: aws.endpoints.region,
      },
    ]);
    expect(call?.remainingMs).toBeGreaterThan(25_000);
    expect(call?.remainingMs).toBeLessThanOrEqual(30_000);
    expect(call?.requestId).toMatch(/^[0-9a-f-]{36}$/);

    await vi.waitFor(
      async () => expect(await countMessages(aws.sqs, aws.resources.queueUrl)).toBe(0),
      eventually,
    );
  });

  it("keeps its long poll open past the client's own request timeout, so no message goes into flight unseen", async () => {
    const aws = await useLocalAws();
    // A client bounded as the deployed worker's is (2 s a request). A receive it gave up on would
    // stay open at the emulator and take the next message into flight, where nobody sees it.
    const bounded = localAwsClients(aws.endpoints, "worker").sqs;
    const received: string[] = [];
    poll(aws, async (event) => void received.push(...event.Records.map((record) => record.body)), {
      sqs: bounded,
      waitTimeSeconds: 4,
    });
    await sleep(2_600); // past the client's request timeout, inside the poll's wait
    await send(aws, "sent while the poll waits");
    await vi.waitFor(() => expect(received).toEqual(["sent while the poll waits"]), eventually);
  });

  it("keeps a record listed in batchItemFailures and delivers it again", async () => {
    const aws = await useLocalAws();
    const seen: Array<{ body: string; receiveCount: string }> = [];
    poll(aws, async (event): Promise<SQSBatchResponse> => {
      const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
      for (const record of event.Records) {
        seen.push({ body: record.body, receiveCount: record.attributes.ApproximateReceiveCount });
        if (record.body === "fail once" && record.attributes.ApproximateReceiveCount === "1") {
          await releaseNow(aws.sqs, aws.resources.queueUrl, record);
          batchItemFailures.push({ itemIdentifier: record.messageId });
        }
      }
      return { batchItemFailures };
    });

    await send(aws, "ok");
    await send(aws, "fail once");

    await vi.waitFor(
      async () => expect(await countMessages(aws.sqs, aws.resources.queueUrl)).toBe(0),
      eventually,
    );
    expect(seen.filter((s) => s.body === "ok")).toEqual([{ body: "ok", receiveCount: "1" }]);
    expect(seen.filter((s) => s.body === "fail once")).toEqual([
      { body: "fail once", receiveCount: "1" },
      { body: "fail once", receiveCount: "2" },
    ]);
  });

  it("moves a message to the dead-letter queue after maxReceiveCount failed receives", async () => {
    const aws = await useLocalAws(undefined, { maxReceiveCount: 2 });
    const receiveCounts: string[] = [];
    poll(aws, async (event) => {
      for (const record of event.Records) {
        receiveCounts.push(record.attributes.ApproximateReceiveCount);
        await releaseNow(aws.sqs, aws.resources.queueUrl, record);
      }
      return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
    });

    const messageId = await send(aws, "always fails");

    // As in SQS, the move happens on the receive after the maxReceiveCount-th, so the handler
    // sees the message exactly maxReceiveCount times.
    await vi.waitFor(
      async () => expect(await countMessages(aws.sqs, aws.resources.deadLetterQueueUrl)).toBe(1),
      eventually,
    );
    expect(await countMessages(aws.sqs, aws.resources.queueUrl)).toBe(0);
    expect(receiveCounts).toEqual(["1", "2"]);

    const { Messages } = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: aws.resources.deadLetterQueueUrl, WaitTimeSeconds: 1 }),
    );
    expect(Messages?.map((m) => ({ id: m.MessageId, body: m.Body }))).toEqual([
      { id: messageId, body: "always fails" },
    ]);
  });

  it("treats a thrown error as a failure of the whole batch", async () => {
    const aws = await useLocalAws();
    const errors: unknown[] = [];
    let calls = 0;
    poll(
      aws,
      async (event) => {
        calls += 1;
        if (calls === 1) {
          for (const record of event.Records) await releaseNow(aws.sqs, aws.resources.queueUrl, record);
          throw new Error("boom");
        }
      },
      { onError: (error) => errors.push(error) },
    );

    await send(aws, "retry me");

    await vi.waitFor(
      async () => expect(await countMessages(aws.sqs, aws.resources.queueUrl)).toBe(0),
      eventually,
    );
    expect(calls).toBe(2);
    expect(errors).toEqual([new Error("boom")]);
  });

  it("rests spare loops while the queue is empty, and wakes them all when work arrives", async () => {
    const aws = await useLocalAws();
    let receives = 0;
    aws.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "ReceiveMessageCommand") receives++;
        return next(args);
      },
      { step: "initialize", name: "countReceives" },
    );
    let running = 0;
    let release = (): void => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Each handler holds its message until the test lets go: only loops that woke can take the rest.
    const handler = vi.fn<SqsBatchHandler>(async () => {
      running++;
      await held;
      running--;
    });
    poll(aws, handler, { concurrency: 5, batchSize: 1 });

    await sleep(3_000);
    // One loop long-polls (1 s each); the four others rested after their first empty receive.
    expect(receives).toBeLessThanOrEqual(4 + 4);

    for (let i = 0; i < 5; i++) await send(aws, `burst ${i}`);
    // The four rested loops woke at the first message and took the rest while it still ran.
    await vi.waitFor(() => expect(running).toBe(5), { timeout: 20_000, interval: 50 });
    release();
    await vi.waitFor(() => expect(running).toBe(0), { timeout: 10_000, interval: 50 });
    expect(handler).toHaveBeenCalledTimes(5);
  });

  it("stops: stop() resolves and a message sent afterwards stays visible in the queue", async () => {
    const aws = await useLocalAws();
    const handler = vi.fn<SqsBatchHandler>(async () => {});
    const poller = poll(aws, handler);
    await sleep(300); // let a long poll be pending when stop() is called

    await poller.stop();
    await send(aws, "after stop");
    await sleep(1_500);

    expect(handler).not.toHaveBeenCalled();
    const { Attributes } = await aws.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: aws.resources.queueUrl,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    expect(Attributes).toMatchObject({
      ApproximateNumberOfMessages: "1",
      ApproximateNumberOfMessagesNotVisible: "0",
    });
  });
});

describe("emulators", () => {
  it("kills the DynamoDB Local java process on stop", async () => {
    const emulators = await startEmulators();
    const { dynamo } = localAwsClients(emulators);
    await expect(dynamo.send(new ListTablesCommand({}))).resolves.toBeDefined();
    dynamo.destroy();
    expect(() => process.kill(emulators.dynamoPid, 0)).not.toThrow();

    await emulators.stop();

    expect(() => process.kill(emulators.dynamoPid, 0)).toThrow();
  });

  it("says that Java 17+ is required when java is not on the PATH", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(startEmulators()).rejects.toThrow(/Java 17\+/);
    } finally {
      process.env.PATH = path;
    }
  });
});
