import type { SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import { integrationJobTypes, parseIntegrationsFile } from "../../lambdas/shared/integrations/load.js";
import { createWorkerDeps } from "../../lambdas/shared/wiring.js";
import { createSqsWorkerHandler } from "../../lambdas/shared/worker/sqs-handlers.js";
import { type HttpFixture, json, startHttpFixture } from "../support/http-fixture.js";
import { type LocalAws, useLocalAws } from "../support/local-aws.js";
import { enqueue, lambdaContext, newJob, receiveRecord, workerConfig } from "../support/worker-kit.js";

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
    ],
  });

function worker() {
  const types = integrationJobTypes(parseIntegrationsFile(file(), "test.json"), {
    allowLoopback: true,
    secrets: async () => ({}),
  });
  const deps = createWorkerDeps(
    workerConfig(aws, { retryBaseSeconds: 0, retryMaxSeconds: 2 }),
    aws,
    silentLog,
    {
      jobTypes: types,
    },
  );
  const handler = createSqsWorkerHandler(deps);
  return {
    store: deps.store,
    deliver: (record: SQSRecord) => handler({ Records: [record] }, lambdaContext(30_000)),
    async start() {
      const job = (await deps.store.create(newJob({ type: "lookup", input: {} }))).job;
      await enqueue(aws, { jobId: job.id, type: job.type });
      return job;
    },
  };
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
});
