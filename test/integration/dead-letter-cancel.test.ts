import { beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import type { JobState } from "../../lambdas/shared/jobs/job-type.js";
import { defineJobType } from "../../lambdas/shared/jobs/job-type.js";
import { createJobTypeRegistry } from "../../lambdas/shared/jobs/registry.js";
import { DEAD_LETTER_CANCEL_CALLS } from "../../lambdas/shared/worker/settle-dead-letter.js";
import { createSqsDeadLetterHandler } from "../../lambdas/shared/worker/sqs-handlers.js";
import { type LocalAws, useLocalAws } from "../support/local-aws.js";
import { lambdaContext, newJob, storeFor, syntheticRecord } from "../support/worker-kit.js";

let aws: LocalAws;
beforeAll(async () => {
  aws = await useLocalAws();
});

/** A submit/check type whose `cancel` fails its first `failures` calls; every call is recorded. */
function externalApi(failures: number): {
  type: ReturnType<typeof defineJobType>;
  cancels: JobState[];
} {
  const cancels: JobState[] = [];
  const type = defineJobType({
    name: "external_api",
    title: "External API",
    description: "Submits work to an external API and checks on it.",
    input: z.object({ query: z.string() }),
    timeoutMs: 5_000,
    maxAttempts: 3,
    pollAfterSeconds: 5,
    maxDurationSeconds: 3_600,
    async submit() {
      return { state: { externalId: "never-used" } };
    },
    async check() {
      return { pending: { checkAfterSeconds: 5 } };
    },
    async cancel(state) {
      cancels.push(state);
      if (cancels.length <= failures) throw new Error("the external API is unavailable");
    },
  });
  return { type, cancels };
}

/** A submitted job whose check message (check 1) reached the dead-letter queue, and the settler for it. */
async function deadCheck(failures: number) {
  const store = storeFor(aws);
  const api = externalApi(failures);
  const job = newJob({ type: "external_api", input: { query: "q" } });
  await store.create(job);
  await store.claim(job.id, 60_000);
  await store.recordSubmit(job.id, 1, {
    stateJson: JSON.stringify({ externalId: "ext-42" }),
    nextCheckAt: Date.now(),
    deadlineAt: Date.now() + 3_600_000,
  });
  const handler = createSqsDeadLetterHandler({
    store,
    log: silentLog,
    registry: createJobTypeRegistry([api.type]),
  });
  const body = JSON.stringify({ jobId: job.id, type: job.type, check: 1, dueAt: Date.now() });
  /** One delivery of the dead letter; true when the handler asked SQS to deliver it again. */
  const deliver = async (): Promise<boolean> => {
    const response = await handler({ Records: [syntheticRecord(body, 6)] }, lambdaContext());
    return response.batchItemFailures.length > 0;
  };
  return { store, job, cancels: api.cancels, deliver };
}

describe("the dead-letter settler of a submit/check job", () => {
  it("fails the job and calls cancel(state) once; a later delivery calls it no more", async () => {
    const { store, job, cancels, deliver } = await deadCheck(0);
    expect(await deliver()).toBe(false);
    expect(await store.get(job.id)).toMatchObject({
      status: "failed",
      error: { code: "delivery_exhausted" },
    });
    expect(cancels).toEqual([{ externalId: "ext-42" }]);
    expect(await deliver()).toBe(false);
    expect(cancels).toHaveLength(1);
  });

  it("a failing cancel is retried through SQS redelivery until it succeeds, then never again", async () => {
    const { cancels, deliver } = await deadCheck(1);
    expect(await deliver()).toBe(true);
    expect(cancels).toHaveLength(1);
    expect(await deliver()).toBe(false);
    expect(cancels).toHaveLength(2);
    expect(await deliver()).toBe(false);
    expect(cancels).toHaveLength(2);
  });

  it(`a cancel that keeps failing is called ${DEAD_LETTER_CANCEL_CALLS} times at most`, async () => {
    const { store, job, cancels, deliver } = await deadCheck(Number.POSITIVE_INFINITY);
    const redelivered: boolean[] = [];
    for (let delivery = 0; delivery < DEAD_LETTER_CANCEL_CALLS + 2; delivery++)
      redelivered.push(await deliver());
    expect(cancels).toHaveLength(DEAD_LETTER_CANCEL_CALLS);
    // Every failed call but the last asks for another delivery; then the message is let go.
    expect(redelivered).toEqual([
      ...Array.from({ length: DEAD_LETTER_CANCEL_CALLS - 1 }, () => true),
      false,
      false,
      false,
    ]);
    expect(await store.get(job.id)).toMatchObject({
      status: "failed",
      cancelFailures: DEAD_LETTER_CANCEL_CALLS - 1,
    });
  });

  it("a job the worker already cancelled through (its marker set) is not cancelled again", async () => {
    const { store, job, cancels, deliver } = await deadCheck(0);
    await store.cancel(job.id, job.owner);
    expect(await store.markCancelCalled(job.id)).toBe(true);
    expect(await deliver()).toBe(false);
    expect(cancels).toHaveLength(0);
  });
});
