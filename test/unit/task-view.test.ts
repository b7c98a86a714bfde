import { TaskSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import type { JobView } from "../../lambdas/shared/domain/job.js";
import { statusMessage, toTask } from "../../lambdas/shared/mcp/task-view.js";

const JOB_ID = "5b0c2a9e-8f1d-4c3b-9a7e-6d5c4b3a2f10";

function view(fields: Partial<JobView> = {}): JobView {
  return {
    jobId: JOB_ID,
    type: "slow_api",
    status: "queued",
    attempt: 0,
    maxAttempts: 3,
    createdAt: "2026-01-02T03:04:05.000Z",
    updatedAt: "2026-01-02T03:04:06.000Z",
    expiresAt: "2026-01-03T03:04:05.000Z",
    pollAfterSeconds: 5,
    ...fields,
  };
}

describe("toTask", () => {
  it("a queued job is a working task: its id, times, ttl to the expiry and poll interval from pollAfterSeconds", () => {
    const task = toTask(view());
    expect(task).toEqual({
      taskId: JOB_ID,
      status: "working",
      statusMessage: "Queued: waiting for a worker.",
      createdAt: "2026-01-02T03:04:05.000Z",
      lastUpdatedAt: "2026-01-02T03:04:06.000Z",
      ttl: 24 * 3600 * 1000,
      pollInterval: 5000,
    });
    expect(TaskSchema.parse(task)).toEqual(task);
  });

  it("maps every job status: queued and running are working, the final ones stay as they are", () => {
    const statuses = (["queued", "running", "completed", "failed", "cancelled"] as const).map(
      (status) => toTask(view({ status })).status,
    );
    expect(statuses).toEqual(["working", "working", "completed", "failed", "cancelled"]);
  });

  it("a pollInterval follows the view's pollAfterSeconds, and an ended job has none", () => {
    expect(toTask(view({ pollAfterSeconds: 30 })).pollInterval).toBe(30_000);
    const { pollAfterSeconds: _none, ...ended } = view({ status: "completed" });
    expect(toTask(ended)).not.toHaveProperty("pollInterval");
  });
});

describe("statusMessage", () => {
  it("shows progress with its message and amount", () => {
    expect(
      statusMessage(view({ status: "running", progress: { current: 2, total: 5, message: "Waited 2 s" } })),
    ).toBe("Waited 2 s (2/5)");
    expect(statusMessage(view({ status: "running", progress: { current: 7 } }))).toBe("Progress 7");
  });

  it("says a failed run will be retried, and why it failed", () => {
    const message = statusMessage(
      view({
        status: "queued",
        attempt: 1,
        lastError: { code: "timeout", message: "The call timed out", retryable: true },
      }),
    );
    expect(message).toBe("Attempt 1 of 3 failed (The call timed out); it will be retried.");
  });

  it("gives a failed or cancelled job's error message, and points a completed one to its result", () => {
    const error = { code: "external_api_error", message: "424 Failed Dependency", retryable: false };
    expect(statusMessage(view({ status: "failed", error }))).toBe("424 Failed Dependency");
    expect(statusMessage(view({ status: "cancelled" }))).toBe("Cancelled.");
    expect(statusMessage(view({ status: "completed" }))).toMatch(/tasks\/result/);
    expect(statusMessage(view({ status: "running" }))).toBe("Running.");
  });
});
