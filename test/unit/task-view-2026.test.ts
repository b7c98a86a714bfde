import {
  CallToolResultV2Schema,
  CreateTaskResultV2Schema,
  GetTaskResultV2Schema,
} from "@modelcontextprotocol/ext-tasks/core/v2";
import { describe, expect, it } from "vitest";
import type { JobView } from "../../lambdas/shared/domain/job.js";
import { createTaskResult, detailedTask, toTask2026 } from "../../lambdas/shared/mcp/task-view-2026.js";

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

const answer = { content: [{ type: "text" as const, text: "{}" }], structuredContent: {} };

describe("the 2026-07-28 task view of a job", () => {
  it("a new job answers a working CreateTaskResult: its id, times, integer ttlMs and pollIntervalMs", () => {
    const task = createTaskResult(view());
    expect(task).toEqual({
      resultType: "task",
      taskId: JOB_ID,
      status: "working",
      statusMessage: "Queued: waiting for a worker.",
      createdAt: "2026-01-02T03:04:05.000Z",
      lastUpdatedAt: "2026-01-02T03:04:06.000Z",
      ttlMs: 24 * 3600 * 1000,
      pollIntervalMs: 5000,
    });
    expect(CreateTaskResultV2Schema.parse(task)).toEqual(task);
  });

  it("maps every job status; a failed job is a completed task", () => {
    const statuses = (["queued", "running", "completed", "failed", "cancelled"] as const).map(
      (status) => toTask2026(view({ status })).status,
    );
    expect(statuses).toEqual(["working", "working", "completed", "completed", "cancelled"]);
  });

  it("a completed task carries get_job's answer with resultType complete; a failed one marks it isError", () => {
    const { pollAfterSeconds: _none, ...ended } = view({ status: "completed" });
    const done = detailedTask(ended, answer);
    expect(GetTaskResultV2Schema.parse(done)).toEqual(done);
    expect(done.result).toEqual({ ...answer, resultType: "complete" });
    expect(CallToolResultV2Schema.parse(done.result).isError).toBeUndefined();
    const error = { code: "external_api_error", message: "424 Failed Dependency", retryable: false };
    const failed = detailedTask({ ...ended, status: "failed", error }, answer);
    expect(failed.status).toBe("completed");
    expect(failed.statusMessage).toBe("424 Failed Dependency");
    expect(CallToolResultV2Schema.parse(failed.result).isError).toBe(true);
  });

  it("a working or cancelled task has no result, whatever answer is given", () => {
    expect(detailedTask(view({ status: "running" }), answer)).not.toHaveProperty("result");
    const cancelled = detailedTask(view({ status: "cancelled" }), answer);
    expect(cancelled).not.toHaveProperty("result");
    expect(GetTaskResultV2Schema.parse(cancelled).status).toBe("cancelled");
  });
});
