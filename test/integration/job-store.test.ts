import { createHash, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { DynamoJobStore } from "../../lambdas/shared/adapters/dynamo-job-store.js";
import { SqsJobQueue } from "../../lambdas/shared/adapters/sqs-job-queue.js";
import type { JobError } from "../../lambdas/shared/domain/job.js";
import type { NewJob } from "../../lambdas/shared/domain/ports.js";
import { localAwsClients } from "../../local/aws-clients.js";
import { countItems, countMessages, type LocalAws, useLocalAws } from "../support/local-aws.js";
import { epochSeconds, FrozenClock, newJob, rawItem, storeFor, uniqueOwner } from "../support/worker-kit.js";

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

describe("idempotent create", () => {
  it("returns the existing job and writes no second row or record; the caller enqueues nothing", async () => {
    const queueAws = await useLocalAws();
    const queue = new SqsJobQueue({ client: queueAws.sqs, queueUrl: queueAws.resources.queueUrl });
    const owner = uniqueOwner();
    // The start use case sends a message only for a job it created.
    const start = async (job: NewJob): Promise<string> => {
      const outcome = await store.create(job);
      if (outcome.created) await queue.send({ jobId: outcome.job.id, type: outcome.job.type });
      return outcome.job.id;
    };

    const first = newJob({ owner, idempotencyKey: "same" });
    expect(await start(first)).toBe(first.id);
    const itemsAfterFirst = await countItems(aws.dynamo, aws.resources.tableName);

    expect(await start(newJob({ owner, idempotencyKey: "same" }))).toBe(first.id);
    expect(await countItems(aws.dynamo, aws.resources.tableName)).toBe(itemsAfterFirst);
    expect(await countMessages(queueAws.sqs, queueAws.resources.queueUrl)).toBe(1);
  });
});
