import { ChangeMessageVisibilityCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoNotificationStore } from "../../lambdas/shared/adapters/dynamo-notification-store.js";
import { DynamoSubscriptionStore } from "../../lambdas/shared/adapters/dynamo-subscription-store.js";
import { SqsNotificationQueue } from "../../lambdas/shared/adapters/sqs-notification-queue.js";
import { composeWorker } from "../../lambdas/shared/app/worker.js";
import { EnqueueFailedError } from "../../lambdas/shared/domain/errors.js";
import type { DeliveryMessage } from "../../lambdas/shared/domain/events.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { NotificationMessage, NotificationTarget } from "../../lambdas/shared/domain/notifications.js";
import type { NotificationQueue, SubscriptionLister } from "../../lambdas/shared/domain/ports.js";
import { systemClock } from "../../lambdas/shared/domain/ports.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";
import { CallbackTargets } from "../../lambdas/shared/usecases/callback-targets.js";
import { JobService } from "../../lambdas/shared/usecases/job-service.js";
import { NotificationOutbox } from "../../lambdas/shared/usecases/notification-outbox.js";
import {
  createSqsDeadLetterHandler as createDeadLetterHandler,
  createSqsWorkerHandler as createWorkerHandler,
} from "../../lambdas/shared/worker/sqs-handlers.js";
import { subscriptionOf } from "../contract/subscription-store.contract.js";
import { countItems, type LocalAws, useLocalAws } from "../support/local-aws.js";
import {
  enqueue,
  lambdaContext,
  newJob,
  receiveRecord,
  storeFor,
  syntheticRecord,
  workerConfig,
} from "../support/worker-kit.js";

let aws: LocalAws;
beforeAll(async () => {
  aws = await useLocalAws();
});

function target(n: number): NotificationTarget {
  return {
    webhookId: `msg_${n}-${Date.now()}`,
    url: "https://hooks.example.com/x",
    status: "pending",
    attempts: 0,
  };
}

/** The real outbox; `failSends` sends fail first, as a throttled or unreachable SQS would. */
function outbox(
  failSends = 0,
  subscriptions?: SubscriptionLister,
): { outbox: NotificationOutbox; sent: DeliveryMessage[] } {
  const real = new SqsNotificationQueue({ client: aws.sqs, queueUrl: aws.resources.notificationQueueUrl });
  const sent: DeliveryMessage[] = [];
  let failuresLeft = failSends;
  const queue: NotificationQueue = {
    async send(message, delaySeconds) {
      if (failuresLeft-- > 0) throw new Error("SQS unavailable (injected)");
      await real.send(message, delaySeconds);
      sent.push(message);
    },
  };
  const store = new DynamoNotificationStore({
    client: aws.dynamo,
    tableName: aws.resources.tableName,
    jobs: storeFor(aws),
  });
  return {
    outbox: new NotificationOutbox({
      store,
      queue,
      log: silentLog,
      ...(subscriptions ? { subscriptions } : {}),
    }),
    sent,
  };
}

async function notificationMessages(): Promise<NotificationMessage[]> {
  const { Messages = [] } = await aws.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: aws.resources.notificationQueueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
    }),
  );
  return Messages.map((message) => JSON.parse(message.Body ?? "") as NotificationMessage);
}

describe("every path that ends a job releases its notifications", () => {
  it("worker: if the notification cannot be queued, the job message stays and its redelivery queues it", async () => {
    const store = storeFor(aws);
    const job = newJob({ input: { query: "q", delaySeconds: 0 } });
    await store.create({ ...job, notifications: [target(1)] });
    await enqueue(aws, { jobId: job.id, type: job.type });
    const { outbox: flaky, sent } = outbox(1);
    const handler = createWorkerHandler(
      composeWorker({ config: workerConfig(aws), clients: aws, log: silentLog, jobTypes: [slowApi] }).deps,
      {
        outbox: flaky,
      },
    );

    const first = await receiveRecord(aws);
    const failed = await handler({ Records: [first] }, lambdaContext());
    // The job ended, but its message is not acknowledged: it is the notification's outbox.
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: first.messageId }]);
    expect((await store.get(job.id))?.status).toBe("completed");
    expect((await store.get(job.id))?.notificationsQueuedAt).toBeUndefined();
    expect(sent).toHaveLength(0);

    // SQS delivers it again (here at once instead of after the visibility timeout).
    await aws.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: aws.resources.queueUrl,
        ReceiptHandle: first.receiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const again = await receiveRecord(aws);
    expect((await handler({ Records: [again] }, lambdaContext())).batchItemFailures).toEqual([]);
    expect(sent).toEqual([{ jobId: job.id, webhookId: expect.stringMatching(/^msg_1-/), attempt: 1 }]);
    expect((await store.get(job.id))?.notificationsQueuedAt).toBeDefined();
    expect((await notificationMessages()).map((m) => m.jobId)).toContain(job.id);

    // A third delivery of the same job message owes nothing more.
    await handler({ Records: [syntheticRecord(again.body)] }, lambdaContext());
    expect(sent).toHaveLength(1);
  });

  it("worker: the delivery that ends a job releases from the row it wrote, without reading it again", async () => {
    const store = storeFor(aws);
    const job = newJob({ input: { query: "q", delaySeconds: 0 } });
    await store.create({ ...job, notifications: [target(4)] });
    await enqueue(aws, { jobId: job.id, type: job.type });
    const queue = new SqsNotificationQueue({ client: aws.sqs, queueUrl: aws.resources.notificationQueueUrl });
    const notifications = new DynamoNotificationStore({
      client: aws.dynamo,
      tableName: aws.resources.tableName,
      jobs: storeFor(aws),
    });
    const reads: string[] = [];
    const read = notifications.get.bind(notifications);
    notifications.get = (id) => {
      reads.push(id);
      return read(id);
    };
    const handler = createWorkerHandler(
      composeWorker({ config: workerConfig(aws), clients: aws, log: silentLog, jobTypes: [slowApi] }).deps,
      { outbox: new NotificationOutbox({ store: notifications, queue, log: silentLog }) },
    );

    const record = await receiveRecord(aws);
    expect((await handler({ Records: [record] }, lambdaContext())).batchItemFailures).toEqual([]);
    expect((await store.get(job.id))?.notificationsQueuedAt).toBeDefined();
    expect(reads).toEqual([]);
    // A later delivery of the same message ended nothing, so it reads the row to see what is owed.
    await handler({ Records: [syntheticRecord(record.body)] }, lambdaContext());
    expect(reads).toEqual([job.id]);
  });

  it("the worker's outbox reads through the worker's own store: a store fault injected by the one hook reaches it", async () => {
    const job = await storeFor(aws).create(
      newJob({ type: "slow_api", input: { query: "q", delaySeconds: 0 } }),
    );
    const stalled = new Error("DynamoDB stalled (injected)");
    const reads: string[] = [];
    const { outbox } = composeWorker({
      config: workerConfig(aws),
      clients: aws,
      log: silentLog,
      jobTypes: [slowApi],
      outbox: { notificationQueueUrl: aws.resources.notificationQueueUrl, subscriptionTableName: undefined },
      wrap: {
        store: (store) =>
          Object.assign(Object.create(store) as typeof store, {
            get: async (id: string) => {
              reads.push(id);
              throw stalled;
            },
          }),
      },
    });
    await expect(outbox?.settle(job.job.id)).rejects.toBe(stalled);
    expect(reads).toEqual([job.job.id]);
  });

  it("dead-letter handler: the job it fails notifies", async () => {
    const store = storeFor(aws);
    const job = newJob();
    await store.create({ ...job, notifications: [target(2)] });
    const { outbox: real, sent } = outbox();
    const handler = createDeadLetterHandler({ store, log: silentLog }, { outbox: real });
    const body = JSON.stringify({ jobId: job.id, type: job.type });
    expect(
      (await handler({ Records: [syntheticRecord(body, 5)] }, lambdaContext())).batchItemFailures,
    ).toEqual([]);
    expect((await store.get(job.id))?.error?.code).toBe("delivery_exhausted");
    expect(sent.map((m) => m.jobId)).toEqual([job.id]);
  });

  it("a start whose job message cannot be sent creates no job, so it owes and sends no notification", async () => {
    const items = await countItems(aws.dynamo, aws.resources.tableName);
    const { outbox: real, sent } = outbox();
    const store = storeFor(aws);
    const service = new JobService({
      store,
      quotas: store,
      queue: {
        send: () => Promise.reject(new Error("SQS unavailable (injected)")),
      },
      clock: systemClock,
      log: silentLog,
      jobTtlSeconds: 3600,
      limits: { maxActiveJobs: 0, maxStartsPerMinute: 0 },
      callbacks: new CallbackTargets({
        allowedOrigins: ["https://hooks.example.com"],
        outbound: { allowLoopback: false },
      }),
      outbox: real,
    });
    const started = service.start({
      owner: "o",
      jobType: slowApi,
      input: { query: "q" },
      callbackUrl: "https://hooks.example.com/x",
    });
    await expect(started).rejects.toBeInstanceOf(EnqueueFailedError);
    // The message goes before the row: with the send refused nothing was written, nothing is owed.
    expect(sent).toEqual([]);
    expect(await countItems(aws.dynamo, aws.resources.tableName)).toBe(items);
  });

  it("an open job owes nothing, and a job without callbacks sends nothing", async () => {
    const store = storeFor(aws);
    const open = newJob();
    await store.create({ ...open, notifications: [target(3)] });
    const plain = newJob();
    await store.create(plain);
    await store.failOpen(plain.id, { code: "x", message: "x", retryable: false });
    const { outbox: real, sent } = outbox();
    await real.settle(open.id);
    await real.settle(plain.id);
    expect(sent).toEqual([]);
    expect((await store.get(open.id))?.notificationsQueuedAt).toBeUndefined();
  });

  it("MCP Events: an ended job queues one delivery per matching subscription of its owner, once", async () => {
    const store = storeFor(aws);
    const subscriptions = new DynamoSubscriptionStore({
      client: aws.dynamo,
      tableName: aws.resources.subscriptionTableName,
    });
    const job = newJob();
    await store.create(job);
    const now = Date.now();
    const every = subscriptionOf(job.owner, now);
    const thisJob = subscriptionOf(job.owner, now, { filter: { jobId: job.id } });
    const otherType = subscriptionOf(job.owner, now, { filter: { type: "batch_api" } });
    const someoneElse = subscriptionOf(`${job.owner}-other`, now);
    for (const item of [every, thisJob, otherType, someoneElse]) await subscriptions.put(item);
    await store.failOpen(job.id, { code: "x", message: "x", retryable: false });

    const { outbox: real, sent } = outbox(0, subscriptions);
    await real.settle(job.id);
    expect(sent).toHaveLength(2);
    expect(sent).toEqual(
      expect.arrayContaining([
        { jobId: job.id, subscriptionId: every.id, attempt: 1 },
        { jobId: job.id, subscriptionId: thisJob.id, attempt: 1 },
      ]),
    );
    expect((await store.get(job.id))?.notificationsQueuedAt).toBeDefined();
    await real.settle(job.id);
    expect(sent).toHaveLength(2);
  });

  it("dead-letter handler: an event delivery that reached the dead-letter queue is dropped, the job untouched", async () => {
    const store = storeFor(aws);
    const job = newJob();
    await store.create(job);
    const ended = await store.failOpen(job.id, { code: "x", message: "x", retryable: false });
    const { outbox: real, sent } = outbox();
    const handler = createDeadLetterHandler({ store, log: silentLog }, { outbox: real });
    const body = JSON.stringify({ jobId: job.id, subscriptionId: `sub_${"a".repeat(40)}`, attempt: 3 });
    expect(
      (await handler({ Records: [syntheticRecord(body, 5)] }, lambdaContext())).batchItemFailures,
    ).toEqual([]);
    expect(await store.get(job.id)).toEqual(ended);
    expect(sent).toEqual([]);
  });
});
