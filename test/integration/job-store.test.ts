import { createHash, randomUUID } from "node:crypto";
import { DeleteMessageCommand } from "@aws-sdk/client-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoJobStore } from "../../lambdas/shared/adapters/dynamo-job-store.js";
import { SqsJobQueue } from "../../lambdas/shared/adapters/sqs-job-queue.js";
import { composeWorker } from "../../lambdas/shared/app/worker.js";
import type { JobError } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import { type NewJob, systemClock } from "../../lambdas/shared/domain/ports.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";
import { JobService } from "../../lambdas/shared/usecases/job-service.js";
import { ROW_WAIT_WINDOW_MS } from "../../lambdas/shared/worker/process-delivery.js";
import { localAwsClients } from "../../local/aws-clients.js";
import { countItems, countMessages, type LocalAws, useLocalAws } from "../support/local-aws.js";
import {
  epochSeconds,
  FrozenClock,
  lambdaContext,
  newJob,
  rawItem,
  receiveRecord,
  storeFor,
  TestClock,
  uniqueOwner,
  workerConfig,
} from "../support/worker-kit.js";

// The rules every store keeps are in test/contract/job-store.contract.ts, run against this adapter
// by test/contract/dynamo-job-store.test.ts. These cases are about DynamoDB itself: helper rows,
// TTL attributes, sparse index markers, and lost writes answered from the condition failure.

const transient: JobError = { code: "external_api_unavailable", message: "503", retryable: true };

let aws: LocalAws;
let store: DynamoJobStore;

beforeAll(async () => {
  aws = await useLocalAws();
  store = storeFor(aws);
});

async function created(job: NewJob = newJob(), into: DynamoJobStore = store): Promise<NewJob> {
  const outcome = await into.create(job);
  expect(outcome.created).toBe(true);
  return job;
}

function idempotencyRecordId(owner: string, key: string): string {
  return `idempotency#${createHash("sha256")
    .update(JSON.stringify([owner, key]))
    .digest("base64url")}`;
}

/** A store on the same table whose client counts the DynamoDB operations it sends. */
function countingStore(): { store: DynamoJobStore; operations: string[] } {
  const operations: string[] = [];
  const { dynamo } = localAwsClients(aws.endpoints);
  dynamo.middlewareStack.add(
    (next, context) => (args) => {
      operations.push(String(context.commandName));
      return next(args);
    },
    { step: "initialize", name: "countOperations" },
  );
  return { store: new DynamoJobStore({ client: dynamo, tableName: aws.resources.tableName }), operations };
}

describe("helper rows", () => {
  it("are never read as jobs", async () => {
    const owner = uniqueOwner();
    await created(newJob({ owner, idempotencyKey: "k" }));
    const recordId = idempotencyRecordId(owner, "k");
    expect(await rawItem(aws, recordId)).toBeDefined();
    expect(await store.get(recordId)).toBeUndefined();
  });

  it("carry the TTL attribute, so DynamoDB deletes them: the idempotency record with its job", async () => {
    const owner = uniqueOwner();
    const job = await created(newJob({ owner, idempotencyKey: "ttl" }));
    expect(await rawItem(aws, idempotencyRecordId(owner, "ttl"))).toMatchObject({
      jobId: job.id,
      expiresAt: job.expiresAt,
    });
  });

  it("carry the TTL attribute, so DynamoDB deletes them: a start counter a minute after its minute", async () => {
    const minute = Math.floor(Date.now() / 60_000);
    const owner = uniqueOwner();
    expect(await storeFor(aws, new FrozenClock(minute * 60_000 + 1_000)).tryRecordStart(owner, 5)).toBe(true);
    const counterId = `starts#${createHash("sha256").update(owner).digest("base64url")}#${minute}`;
    expect(await rawItem(aws, counterId)).toEqual({ id: counterId, starts: 1, expiresAt: (minute + 2) * 60 });
  });
});

describe("expiry", () => {
  it("leaves an expired row to DynamoDB's TTL sweep, unchanged", async () => {
    const now = Date.now();
    const job = await created(newJob({ expiresAt: epochSeconds(now) + 3600 }));
    const lateStore = storeFor(aws, new FrozenClock(job.expiresAt * 1000));
    expect(await lateStore.get(job.id)).toBeUndefined();
    expect(await lateStore.claim(job.id, 60_000)).toMatchObject({ claimed: false });
    expect(await rawItem(aws, job.id)).toMatchObject({ id: job.id, status: "queued", attempt: 0 });
  });
});

describe("conditional writes", () => {
  it("create no row for an unknown id", async () => {
    const before = await countItems(aws.dynamo, aws.resources.tableName);
    expect(await store.claim(randomUUID(), 60_000)).toEqual({ claimed: false, job: undefined });
    expect(await store.progress(randomUUID(), 1, { current: 1 })).toBe(false);
    await store.failOpen(randomUUID(), transient).catch(() => undefined);
    expect(await countItems(aws.dynamo, aws.resources.tableName)).toBe(before);
  });

  it("learn the row from the failed condition (ALL_OLD), without a second read", async () => {
    const job = await created();
    const { store: counted, operations } = countingStore();
    const first = await counted.claim(job.id, 60_000);
    operations.length = 0;

    expect(await counted.claim(job.id, 60_000)).toEqual({ claimed: false, job: first.job });
    await counted.cancel(job.id, uniqueOwner()).catch(() => undefined);
    expect(operations).toEqual(["UpdateItemCommand", "UpdateItemCommand"]);
  });

  it("drop the active-index marker when the job ends", async () => {
    const job = await created();
    expect(await rawItem(aws, job.id)).toMatchObject({ activeOwner: job.owner });
    await store.claim(job.id, 60_000);
    await store.releaseForRetry(job.id, 1, transient);
    expect(await rawItem(aws, job.id)).toMatchObject({ activeOwner: job.owner });
    await store.claim(job.id, 60_000);
    await store.complete(job.id, 2, "{}");
    expect(await rawItem(aws, job.id)).not.toHaveProperty("activeOwner");

    for (const end of [
      (id: string, owner: string) => store.cancel(id, owner),
      (id: string) => store.failOpen(id, transient),
    ]) {
      const other = await created();
      await end(other.id, other.owner);
      expect(await rawItem(aws, other.id)).not.toHaveProperty("activeOwner");
    }
  });
});

describe("idempotent start, in the order production runs it (message first, then the row)", () => {
  /** The real start use case on this table and a fresh queue, and a worker on both. */
  async function startAndWorker() {
    const queueAws = await useLocalAws();
    const on = { ...queueAws, resources: { ...queueAws.resources, tableName: aws.resources.tableName } };
    const service = new JobService({
      store,
      quotas: store,
      queue: new SqsJobQueue({ client: queueAws.sqs, queueUrl: queueAws.resources.queueUrl }),
      clock: systemClock,
      log: silentLog,
      jobTtlSeconds: 3600,
      limits: { maxActiveJobs: 0, maxStartsPerMinute: 0 },
    });
    // A worker whose clock is past the row wait, so a message whose row never came is dropped now.
    const clock = new TestClock(Date.now() + ROW_WAIT_WINDOW_MS + 5_000);
    const worker = composeWorker({
      config: workerConfig(on),
      clients: on,
      log: silentLog,
      jobTypes: [slowApi],
      clock,
    }).handler;
    return { queueAws, service, worker };
  }

  const jobRows = async (owner: string) => (await store.listByOwner(owner, { limit: 50 })).jobs;

  it("a second start with the same key answers the first job and sends and writes nothing", async () => {
    const { queueAws, service } = await startAndWorker();
    const owner = uniqueOwner();
    const request = {
      owner,
      jobType: slowApi,
      input: { query: "q", delaySeconds: 0 },
      idempotencyKey: "same",
    };
    const first = await service.start(request);
    const itemsAfterFirst = await countItems(aws.dynamo, aws.resources.tableName);
    expect(await countMessages(queueAws.sqs, queueAws.resources.queueUrl)).toBe(1);

    expect((await service.start(request)).id).toBe(first.id);
    expect(await countItems(aws.dynamo, aws.resources.tableName)).toBe(itemsAfterFirst);
    expect(await countMessages(queueAws.sqs, queueAws.resources.queueUrl)).toBe(1);
    expect((await jobRows(owner)).map((job) => job.id)).toEqual([first.id]);
  });

  it("two starts with one key at once: one job; the loser's message finds no row and lapses, running nothing", async () => {
    const { queueAws, service, worker } = await startAndWorker();
    const owner = uniqueOwner();
    const request = {
      owner,
      jobType: slowApi,
      input: { query: "race", delaySeconds: 0 },
      idempotencyKey: "race",
    };
    const [one, two] = await Promise.all([service.start(request), service.start(request)]);
    expect(two.id).toBe(one.id);
    expect((await jobRows(owner)).map((job) => job.id)).toEqual([one.id]);

    // Each start sent its message before its row; the worker drains them all.
    const messages = await countMessages(queueAws.sqs, queueAws.resources.queueUrl);
    expect([1, 2]).toContain(messages);
    const jobIds = new Set<string>();
    for (let i = 0; i < messages; i++) {
      const record = await receiveRecord(queueAws);
      jobIds.add(JSON.parse(record.body).jobId);
      expect(await worker({ Records: [record] }, lambdaContext())).toEqual({ batchItemFailures: [] });
      // Acknowledged: the event source deletes it.
      await queueAws.sqs.send(
        new DeleteMessageCommand({
          QueueUrl: queueAws.resources.queueUrl,
          ReceiptHandle: record.receiptHandle,
        }),
      );
    }
    expect(jobIds).toContain(one.id);
    expect(await countMessages(queueAws.sqs, queueAws.resources.queueUrl)).toBe(0);
    for (const id of jobIds) if (id !== one.id) expect(await rawItem(aws, id)).toBeUndefined();
    expect((await jobRows(owner)).map((job) => [job.id, job.status])).toEqual([[one.id, "completed"]]);
  });
});
