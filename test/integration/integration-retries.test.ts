import type { SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { composeWorker } from "../../lambdas/shared/app/worker.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import { integrationJobTypes, parseIntegrationsFile } from "../../lambdas/shared/integrations/load.js";
import { type HttpFixture, json, startHttpFixture } from "../support/http-fixture.js";
import { type LocalAws, useLocalAws } from "../support/local-aws.js";
import {
  enqueue,
  lambdaContext,
  newJob,
  receiveRecord,
  storeFor,
  workerConfig,
} from "../support/worker-kit.js";

let aws: LocalAws;
let api: HttpFixture;
/** The VisibilityTimeout of every ChangeMessageVisibility the worker sends: its retry delays. */
const delays: number[] = [];

beforeAll(async () => {
  api = await startHttpFixture();
});
afterAll(() => api.close());
// A fresh table and queue per test, so a message left waiting by one test never reaches the next.
beforeEach(async () => {
  delays.length = 0;
  aws = await useLocalAws();
  aws.sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "ChangeMessageVisibilityCommand") {
        delays.push((args.input as { VisibilityTimeout: number }).VisibilityTimeout);
      }
      return next(args);
    },
    { step: "initialize", name: "recordRetryDelays" },
  );
});

const file = (): string =>
  JSON.stringify({
    integrations: [
      {
        name: "lookup",
        description: "A test API.",
        input: { type: "object", properties: {} },
        request: { url: `${api.origin}/v1/lookup`, timeoutSeconds: 5 },
        maxAttempts: 3,
      },
      {
        name: "report",
        description: "A test 202 + Location API.",
        input: { type: "object", properties: {} },
        request: { method: "POST", url: `${api.origin}/v1/reports`, timeoutSeconds: 5 },
        poll: {
          url: "{{response.headers.location}}",
          everySeconds: 5,
          maxDurationSeconds: 600,
          doneWhen: { path: "status", equals: "succeeded" },
        },
        result: { path: "report" },
        maxAttempts: 3,
      },
    ],
  });

function worker() {
  const types = integrationJobTypes(parseIntegrationsFile(file(), "test.json"), {
    allowLoopback: true,
    secrets: async () => ({}),
  });
  const { handler } = composeWorker({
    config: workerConfig(aws, { retryBaseSeconds: 0, retryMaxSeconds: 2 }),
    clients: aws,
    log: silentLog,
    jobTypes: types,
  });
  // The worker holds only its own port; the tests read and seed rows through the whole store.
  const store = storeFor(aws);
  return {
    store,
    deliver: (record: SQSRecord) => handler({ Records: [record] }, lambdaContext(30_000)),
    async start(type = "lookup") {
      const job = (await store.create(newJob({ type, input: {} }))).job;
      await enqueue(aws, { jobId: job.id, type: job.type });
      return job;
    },
  };
}

/** The next message on the job queue, waiting out a delayed check message (everySeconds is at least 5). */
async function nextRecord(): Promise<SQSRecord> {
  for (let tries = 0; ; tries++) {
    try {
      return await receiveRecord(aws);
    } catch (error) {
      if (tries >= 10) throw error;
    }
  }
}

/** Answers each request with the next of `answers`, then 200 { ok: true }. */
function answers(...statuses: Array<[number, Record<string, string>]>): void {
  let index = 0;
  api.handle((_request, response) => {
    const next = statuses[index++];
    if (next) json(response, next[0], { error: "busy" }, next[1]);
    else json(response, 200, { ok: true });
  });
}

describe("integration outcomes in the worker", () => {
  it("429 with Retry-After: the retry waits that long, then the job completes", async () => {
    answers([429, { "retry-after": "1" }]);
    const w = worker();
    const job = await w.start();
    expect(await w.deliver(await receiveRecord(aws))).toEqual({ batchItemFailures: [expect.anything()] });
    expect(delays).toEqual([1]);
    expect((await w.store.get(job.id))?.lastError).toMatchObject({ code: "http_429", retryable: true });
    await w.deliver(await receiveRecord(aws));
    expect(await w.store.get(job.id)).toMatchObject({
      status: "completed",
      resultJson: '{"ok":true}',
      attempt: 2,
    });
  });

  it("a Retry-After past the backoff maximum is capped at it", async () => {
    answers([503, { "retry-after": "3600" }]);
    const w = worker();
    await w.start();
    await w.deliver(await receiveRecord(aws));
    expect(delays).toEqual([2]);
  });

  it("503 is retried with the backoff, then succeeds", async () => {
    answers([503, {}]);
    const w = worker();
    const job = await w.start();
    await w.deliver(await receiveRecord(aws));
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeLessThanOrEqual(2);
    await w.deliver(await receiveRecord(aws));
    expect(await w.store.get(job.id)).toMatchObject({ status: "completed", attempt: 2 });
  });

  it("a 4xx fails the job at once, with the status, after one request", async () => {
    api.handle((_request, response) => json(response, 403, { error: "forbidden" }));
    const before = api.requests.length;
    const w = worker();
    const job = await w.start();
    expect(await w.deliver(await receiveRecord(aws))).toEqual({ batchItemFailures: [] });
    expect(await w.store.get(job.id)).toMatchObject({
      status: "failed",
      error: {
        code: "http_403",
        message: 'lookup answered HTTP 403: {"error":"forbidden"}',
        retryable: false,
      },
    });
    expect(api.requests.length - before).toBe(1);
    expect(delays).toEqual([]);
  });

  it("a status check answered 429 with Retry-After is retried after it, then the job completes", async () => {
    const checks: number[] = [];
    api.handle((request, response) => {
      if (request.method === "POST") return json(response, 202, {}, { location: "/v1/reports/r1" });
      checks.push(Date.now());
      if (checks.length === 1) return json(response, 429, { error: "busy" }, { "retry-after": "1" });
      return json(response, 200, { status: "succeeded", report: { pages: 3 } });
    });
    const w = worker();
    const job = await w.start("report");
    await w.deliver(await receiveRecord(aws)); // submit: a check message follows in everySeconds
    expect(await w.deliver(await nextRecord())).toEqual({ batchItemFailures: [expect.anything()] });
    expect(delays).toEqual([1]);
    expect((await w.store.get(job.id))?.lastError).toMatchObject({ code: "http_429", retryable: true });
    await w.deliver(await nextRecord());
    expect(await w.store.get(job.id)).toMatchObject({ status: "completed", resultJson: '{"pages":3}' });
    expect(checks).toHaveLength(2);
  });
});
