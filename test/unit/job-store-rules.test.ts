import { describe, expect, it } from "vitest";
import { IdempotencyConflictError } from "../../lambdas/shared/domain/errors.js";
import {
  holdsKey,
  jobOfRepeatedStart,
  repeatsRequest,
} from "../../lambdas/shared/domain/idempotent-start.js";
import { type JobRow, JobRowSchema } from "../../lambdas/shared/domain/job.js";
import { newJobRow } from "../../lambdas/shared/domain/new-job-row.js";
import { isOwnedBy } from "../../lambdas/shared/domain/owner-scope.js";
import { newJob } from "../support/worker-kit.js";

const AT = Date.parse("2026-05-01T12:00:00.000Z");

describe("newJobRow", () => {
  it("builds a queued row with no run yet, created and updated at the given time", () => {
    const job = newJob({ idempotencyKey: "k" });
    const row = newJobRow(job, AT);
    expect(JobRowSchema.strict().parse(row)).toEqual(row);
    expect(row).toEqual({
      id: job.id,
      type: job.type,
      owner: job.owner,
      status: "queued",
      inputJson: job.inputJson,
      inputHash: job.inputHash,
      idempotencyKey: "k",
      attempt: 0,
      maxAttempts: job.maxAttempts,
      createdAt: "2026-05-01T12:00:00.000Z",
      updatedAt: "2026-05-01T12:00:00.000Z",
      expiresAt: job.expiresAt,
    });
  });

  it("writes the webhook targets a start gives, as a copy, and no key for what it does not give", () => {
    const notifications = [
      { webhookId: "msg_a", url: "https://hooks.example.com", status: "pending", attempts: 0 },
    ] as const;
    const withTargets = newJobRow({ ...newJob(), notifications }, AT);
    expect(withTargets.notifications).toEqual(notifications);
    expect(withTargets.notifications).not.toBe(notifications);

    const plain = newJobRow({ ...newJob(), notifications: [] }, AT);
    expect(Object.keys(plain)).not.toContain("notifications");
    expect(Object.keys(plain)).not.toContain("idempotencyKey");
  });
});

describe("owner scoping and idempotent starts", () => {
  const row = (owner: string): JobRow => newJobRow(newJob({ owner }), AT);

  it("a job is its owner's alone; no job is nobody's", () => {
    expect(isOwnedBy(row("alice"), "alice")).toBe(true);
    expect(isOwnedBy(row("alice"), "bob")).toBe(false);
    expect(isOwnedBy(undefined, "alice")).toBe(false);
  });

  it("a start repeats the held request only with the same input hash", () => {
    expect(repeatsRequest({ inputHash: "h1" }, "h1")).toBe(true);
    expect(repeatsRequest({ inputHash: "h1" }, "h2")).toBe(false);
  });

  it("a record holds its key until the second its job expires", () => {
    const record = { jobId: "j", inputHash: "h", expiresAt: AT / 1000 + 10 };
    expect(holdsKey(record, AT + 9_999)).toBe(true);
    expect(holdsKey(record, AT + 10_000)).toBe(false);
  });

  it("a repeated start answers the caller's earlier job; other input, another owner's job or none is a conflict", async () => {
    const earlier = row("alice");
    const reads: string[] = [];
    const read = async (id: string): Promise<JobRow | undefined> => {
      reads.push(id);
      return id === earlier.id ? earlier : undefined;
    };
    const record = { jobId: earlier.id, inputHash: earlier.inputHash, expiresAt: earlier.expiresAt };
    const start = { owner: "alice", inputHash: earlier.inputHash, idempotencyKey: "k" };

    expect(await jobOfRepeatedStart(start, record, read)).toEqual(earlier);
    await expect(jobOfRepeatedStart({ ...start, owner: "bob" }, record, read)).rejects.toThrow(
      IdempotencyConflictError,
    );
    await expect(jobOfRepeatedStart(start, { ...record, jobId: "gone" }, read)).rejects.toThrow(
      IdempotencyConflictError,
    );
    await expect(jobOfRepeatedStart(start, undefined, read)).rejects.toThrow(IdempotencyConflictError);

    reads.length = 0;
    await expect(jobOfRepeatedStart({ ...start, inputHash: "other" }, record, read)).rejects.toThrow(
      IdempotencyConflictError,
    );
    expect(reads).toEqual([]);
  });
});
