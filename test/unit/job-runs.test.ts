import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ExternalApiError } from "../../lambdas/shared/domain/errors.js";
import { type Progress, ProgressSchema } from "../../lambdas/shared/domain/job.js";
import { failingApi } from "../../lambdas/shared/jobs/failing-api.js";
import { flakyApi } from "../../lambdas/shared/jobs/flaky-api.js";
import { hungApi } from "../../lambdas/shared/jobs/hung-api.js";
import type { RunContext } from "../../lambdas/shared/jobs/job-type.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";

function runContext(
  fields: { attempt?: number; signal?: AbortSignal } = {},
): RunContext & { reported: Progress[] } {
  const reported: Progress[] = [];
  return {
    jobId: "00000000-0000-4000-8000-000000000000",
    attempt: fields.attempt ?? 1,
    signal: fields.signal ?? new AbortController().signal,
    reported,
    async progress(progress) {
      reported.push(progress);
    },
  };
}

describe("job type runs", () => {
  it("slow_api answers after its delay and reports progress the job row can hold", async () => {
    for (const delaySeconds of [0, 1]) {
      const context = runContext();
      await expect(slowApi.run({ query: "q", delaySeconds }, context)).resolves.toEqual({
        answer: "Slow result for: q",
      });
      expect(context.reported.length).toBeGreaterThan(0);
      for (const progress of context.reported) expect(ProgressSchema.parse(progress)).toEqual(progress);
    }
  });

  it("failing_api fails permanently with 424", async () => {
    const failure = failingApi.run({ query: "q", delaySeconds: 0 }, runContext());
    await expect(failure).rejects.toBeInstanceOf(ExternalApiError);
    await expect(failure).rejects.toMatchObject({
      retryable: false,
      message: "424 Failed Dependency: external service unavailable",
    });
  });

  it("flaky_api fails transiently failTimes times, then answers", async () => {
    const input = { query: "q", delaySeconds: 0, failTimes: 2 };
    for (const attempt of [1, 2]) {
      await expect(flakyApi.run(input, runContext({ attempt }))).rejects.toMatchObject({ retryable: true });
    }
    await expect(flakyApi.run(input, runContext({ attempt: 3 }))).resolves.toEqual({
      answer: "Flaky result for: q",
      attempts: 3,
    });
  });

  it("hung_api never answers on its own and stops when its signal aborts", async () => {
    const controller = new AbortController();
    let settled = false;
    const run = hungApi.run({ query: "q" }, runContext({ signal: controller.signal })).finally(() => {
      settled = true;
    });
    run.catch(() => {});
    await sleep(100);
    expect(settled).toBe(false);

    const reason = new Error("deadline");
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
  });
});
