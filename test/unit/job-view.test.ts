import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type JobRow, JobViewSchema, toJobView } from "../../lambdas/shared/domain/job.js";
import { batchApi } from "../../lambdas/shared/jobs/batch-api.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";
import { pollAfterSeconds } from "../../lambdas/shared/mcp/server.js";

function row(fields: Partial<JobRow> = {}): JobRow {
  return {
    id: randomUUID(),
    type: "slow_api",
    owner: "owner-1",
    status: "queued",
    inputJson: '{"query":"q"}',
    inputHash: "hash",
    attempt: 0,
    maxAttempts: 3,
    createdAt: "2026-01-02T03:04:05.000Z",
    updatedAt: "2026-01-02T03:04:05.000Z",
    expiresAt: 1_767_409_445,
    ...fields,
  };
}

describe("toJobView", () => {
  it("shows a queued job without owner, input, hash, lease or idempotency key", () => {
    const job = row({ idempotencyKey: "k", leaseExpiresAt: 5 });
    expect(toJobView(job)).toEqual({
      jobId: job.id,
      type: "slow_api",
      status: "queued",
      attempt: 0,
      maxAttempts: 3,
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
      expiresAt: "2026-01-03T03:04:05.000Z",
    });
  });

  it("turns the epoch-seconds expiry into ISO 8601", () => {
    expect(toJobView(row({ expiresAt: 1 })).expiresAt).toBe("1970-01-01T00:00:01.000Z");
  });

  it("parses the stored result JSON, null included", () => {
    expect(toJobView(row({ status: "completed", resultJson: '{"answer":"a","n":[1,2]}' })).result).toEqual({
      answer: "a",
      n: [1, 2],
    });
    const nullResult = toJobView(row({ status: "completed", resultJson: "null" }));
    expect(nullResult).toHaveProperty("result", null);
  });

  it("shows progress, error and timestamps when present", () => {
    const error = { code: "timeout", message: "late", retryable: true };
    const view = toJobView(
      row({
        status: "failed",
        progress: { current: 2, total: 5, message: "m" },
        error,
        startedAt: "2026-01-02T03:04:06.000Z",
        finishedAt: "2026-01-02T03:04:07.000Z",
      }),
    );
    expect(view).toMatchObject({
      progress: { current: 2, total: 5, message: "m" },
      error,
      startedAt: "2026-01-02T03:04:06.000Z",
      finishedAt: "2026-01-02T03:04:07.000Z",
    });
  });

  it("shows the last transient error only while a retry is pending", () => {
    const lastError = { code: "external_api_unavailable", message: "503", retryable: true };
    expect(toJobView(row({ status: "running", attempt: 1, lastError })).lastError).toEqual(lastError);
    for (const status of ["completed", "failed", "cancelled"] as const) {
      expect(toJobView(row({ status, lastError }))).not.toHaveProperty("lastError");
    }
  });

  it("produces what the view schema accepts", () => {
    const view = toJobView(row({ status: "completed", resultJson: '"x"', progress: { current: 1 } }));
    expect(JobViewSchema.parse(view)).toEqual(view);
  });
});

describe("submit/check jobs in the view", () => {
  const submitted = {
    stateJson: JSON.stringify({ externalId: "ext-secret-1" }),
    checkSeq: 3,
    nextCheckAt: Date.parse("2026-01-02T03:05:00.000Z"),
    submittedAt: "2026-01-02T03:04:06.000Z",
    deadlineAt: Date.parse("2026-01-02T04:04:06.000Z"),
    cancelCalledAt: "2026-01-02T03:04:07.000Z",
  };

  it("shows estimatedCompletion while open, and never the state or the check bookkeeping", () => {
    const view = toJobView(
      row({ status: "running", attempt: 1, estimatedCompletion: "2026-01-02T03:10:00.000Z", ...submitted }),
    );
    expect(view.estimatedCompletion).toBe("2026-01-02T03:10:00.000Z");
    const text = JSON.stringify(view);
    for (const hidden of [
      "ext-secret-1",
      "checkSeq",
      "nextCheckAt",
      "deadlineAt",
      "submittedAt",
      "cancelCalled",
    ]) {
      expect(text).not.toContain(hidden);
    }
  });

  it("drops estimatedCompletion once the job has ended", () => {
    const view = toJobView(row({ status: "completed", estimatedCompletion: "2026-01-02T03:10:00.000Z" }));
    expect(view).not.toHaveProperty("estimatedCompletion");
  });
});

describe("pollAfterSeconds", () => {
  const now = Date.parse("2026-01-02T03:04:05.000Z");

  it("follows the next check of a submitted job, a second after it", () => {
    expect(pollAfterSeconds(row({ status: "running", nextCheckAt: now + 30_000 }), batchApi, now)).toBe(31);
    expect(pollAfterSeconds(row({ status: "running", nextCheckAt: now + 200 }), batchApi, now)).toBe(2);
    // An overdue check: poll again soon, never at a negative time.
    expect(pollAfterSeconds(row({ status: "running", nextCheckAt: now - 60_000 }), batchApi, now)).toBe(1);
  });

  it("is the job type's hint before the submit and for run jobs", () => {
    expect(pollAfterSeconds(row({ status: "queued" }), batchApi, now)).toBe(batchApi.pollAfterSeconds);
    expect(pollAfterSeconds(row({ status: "running" }), slowApi, now)).toBe(slowApi.pollAfterSeconds);
    expect(pollAfterSeconds(row({ status: "running" }), undefined, now)).toBe(5);
  });
});
