import { DeleteMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { composeWorker } from "../../lambdas/shared/app/worker.js";
import { ExternalApiError } from "../../lambdas/shared/domain/errors.js";
import type { JobMessage } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { JobQueue, RetryScheduler } from "../../lambdas/shared/domain/ports.js";
import { defineJobType, type SubmitCheckJobType } from "../../lambdas/shared/jobs/job-type.js";
import { countMessages, type LocalAws, useLocalAws } from "../support/local-aws.js";
import {
  enqueue,
  expectRedelivered,
  lambdaContext,
  newJob,
  receiveNow,
  receiveRecord,
  storeFor,
  workerConfig,
} from "../support/worker-kit.js";

// Submit/check on the real queue: every check is a delayed SQS message, long waits chain through
// SQS's 900 s limit, and a failed check comes back when its ChangeMessageVisibility says.
// test/integration/submit-check.test.ts covers the ordering cases with the edge's sends recorded.

/** Checks: pending `pendingChecks` times (asking for 1 s), then done; or the script's error first. */
function external(name: string, options: { pendingChecks?: number; failFirstCheck?: boolean } = {}) {
  let checks = 0;
  const type: SubmitCheckJobType = defineJobType({
    name,
    title: name,
    description: "An external service with its own job handle.",
    input: z.object({ query: z.string() }),
    timeoutMs: 10_000,
    maxAttempts: 3,
    pollAfterSeconds: 1,
    maxDurationSeconds: 3_600,
    async submit(input, context) {
      return { state: { externalId: `ext-${context.jobId}`, query: input.query }, checkAfterSeconds: 1 };
    },
    async check(state) {
      checks += 1;
      if (options.failFirstCheck && checks === 1) throw new ExternalApiError("503 from the status API", true);
      if (checks <= (options.pendingChecks ?? 0)) return { pending: { checkAfterSeconds: 1 } };
      return { done: { answer: `done: ${String(state.query)}` } };
    },
  });
  return type;
}

interface Sent {
  readonly message: JobMessage;
  readonly delaySeconds: number | undefined;
}

/** The real worker edge on a fresh queue; its sends go to SQS and are also recorded. */
async function worker(type: SubmitCheckJobType) {
  const aws = await useLocalAws();
  const sent: Sent[] = [];
  const { handler } = composeWorker({
    config: workerConfig(aws, { retryBaseSeconds: 2, retryMaxSeconds: 2 }),
    clients: aws,
    log: silentLog,
    jobTypes: [type],
    wrap: {
      retries: (queue): RetryScheduler & JobQueue => ({
        retryAfter: (receiptHandle, seconds) => queue.retryAfter(receiptHandle, seconds),
        async send(message, options) {
          await queue.send(message, options);
          sent.push({ message, delaySeconds: options?.delaySeconds });
        },
      }),
    },
  });
  const store = storeFor(aws);
  return {
    aws,
    store,
    sent,
    /** Delivers a received record as Lambda does, deleting it when the handler acknowledged it. */
    async deliver(record: SQSRecord): Promise<SQSBatchResponse> {
      const response = await handler({ Records: [record] }, lambdaContext());
      if (response.batchItemFailures.length === 0) {
        await aws.sqs.send(
          new DeleteMessageCommand({ QueueUrl: aws.resources.queueUrl, ReceiptHandle: record.receiptHandle }),
        );
      }
      return response;
    },
    async start(): Promise<string> {
      const job = newJob({ type: type.name, input: { query: "q" } });
      await store.create(job);
      await enqueue(aws, { jobId: job.id, type: job.type });
      return job.id;
    },
  };
}

/**
 * The next message, received as soon as it is visible. It was sent after `before`, so a receive
 * sooner than `before` + its delay proves the delay was not applied.
 */
async function nextAfterDelay(aws: LocalAws, before: number, delaySeconds: number): Promise<SQSRecord> {
  const deadline = Date.now() + (delaySeconds + 10) * 1000;
  for (;;) {
    const record = await receiveNow(aws);
    if (record !== undefined) {
      expect(Date.now() - before).toBeGreaterThanOrEqual(delaySeconds * 1000 - 50);
      return record;
    }
    if (Date.now() > deadline) throw new Error("the delayed message never arrived");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("submit/check on the real queue", () => {
  it("chains delayed check messages until the job completes, leaving the queue empty", async () => {
    const w = await worker(external("q_chain", { pendingChecks: 2 }));
    const jobId = await w.start();
    let record = await receiveRecord(w.aws);
    for (let check = 1; check <= 3; check++) {
      const sentAt = Date.now();
      expect(await w.deliver(record)).toEqual({ batchItemFailures: [] });
      expect(w.sent.at(-1)).toEqual({
        message: { jobId, type: "q_chain", check, dueAt: expect.any(Number) },
        delaySeconds: 1,
      });
      record = await nextAfterDelay(w.aws, sentAt, 1);
      expect(JSON.parse(record.body)).toEqual(w.sent.at(-1)?.message);
    }
    expect(await w.deliver(record)).toEqual({ batchItemFailures: [] });
    expect(await w.store.get(jobId)).toMatchObject({
      status: "completed",
      resultJson: '{"answer":"done: q"}',
    });
    expect(w.sent).toHaveLength(3);
    expect(await countMessages(w.aws.sqs, w.aws.resources.queueUrl)).toBe(0);
  });

  it("a wait past 900 s is sent with DelaySeconds 900, unchanged, and is not receivable before", async () => {
    const w = await worker(external("q_long"));
    const jobId = await w.start();
    await w.deliver(await receiveRecord(w.aws));
    const check1 = await receiveRecord(w.aws);
    // An hour-long wait: the check message comes back every 900 s with its due time until then.
    const early = { jobId, type: "q_long", check: 1, dueAt: Date.now() + 3_600_000 };
    await w.aws.sqs.send(
      new DeleteMessageCommand({ QueueUrl: w.aws.resources.queueUrl, ReceiptHandle: check1.receiptHandle }),
    );
    await enqueue(w.aws, early);
    const before = await w.store.get(jobId);
    expect(await w.deliver(await receiveRecord(w.aws))).toEqual({ batchItemFailures: [] });
    expect(w.sent.at(-1)).toEqual({ message: early, delaySeconds: 900 });
    expect(await countMessages(w.aws.sqs, w.aws.resources.queueUrl)).toBe(1);
    expect(await receiveNow(w.aws)).toBeUndefined();
    expect(await w.store.get(jobId)).toEqual(before);
  });

  it("a check that fails transiently comes back after its backoff, on the same message, and completes", async () => {
    const w = await worker(external("q_retry", { failFirstCheck: true }));
    const jobId = await w.start();
    await w.deliver(await receiveRecord(w.aws));
    const check1 = await receiveRecord(w.aws);
    const failed = await w.deliver(check1);
    expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: check1.messageId }] });
    const retriedAt = Date.now();
    expect(await w.store.get(jobId)).toMatchObject({
      status: "running",
      attempt: 2,
      checkSeq: 1,
      lastError: { code: "external_api_unavailable" },
    });

    const again = await expectRedelivered(w.aws, check1, retriedAt, { atLeastSeconds: 1, withinSeconds: 10 });
    expect(await w.deliver(again)).toEqual({ batchItemFailures: [] });
    expect(await w.store.get(jobId)).toMatchObject({ status: "completed", attempt: 2 });
    expect(w.sent).toHaveLength(1);
    expect(await countMessages(w.aws.sqs, w.aws.resources.queueUrl)).toBe(0);
  });
});
