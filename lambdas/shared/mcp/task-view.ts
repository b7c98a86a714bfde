import type { Task } from "@modelcontextprotocol/sdk/types.js";
import type { JobStatus, JobView } from "../domain/job.js";

/** A task has no queued state: the protocol's `working` covers a job that waits and one that runs. */
const TASK_STATUS = {
  queued: "working",
  running: "working",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
} as const satisfies Record<JobStatus, Task["status"]>;

/**
 * A job as MCP Tasks show it, taken from the job tools' own view of it, so that `tasks/get` and
 * `get_job` can never disagree: the task id is the job id, `pollInterval` is the view's
 * `pollAfterSeconds` and `ttl` runs from creation to the job's expiry.
 */
export function toTask(view: JobView): Task {
  return {
    taskId: view.jobId,
    status: TASK_STATUS[view.status],
    statusMessage: statusMessage(view),
    createdAt: view.createdAt,
    lastUpdatedAt: view.updatedAt,
    ttl: Math.max(0, Date.parse(view.expiresAt) - Date.parse(view.createdAt)),
    ...(view.pollAfterSeconds !== undefined ? { pollInterval: view.pollAfterSeconds * 1000 } : {}),
  };
}

/** One line for a person watching the task: the job's progress, or why it ended. */
export function statusMessage(view: JobView): string {
  switch (view.status) {
    case "completed":
      return "Completed: tasks/result (or get_job) returns the result.";
    case "failed":
    case "cancelled":
      return view.error?.message ?? (view.status === "failed" ? "Failed." : "Cancelled.");
    default: {
      const progress = view.progress;
      if (progress !== undefined) {
        const amount =
          progress.total !== undefined ? `${progress.current}/${progress.total}` : `${progress.current}`;
        return progress.message !== undefined ? `${progress.message} (${amount})` : `Progress ${amount}`;
      }
      if (view.lastError !== undefined) {
        return `Attempt ${view.attempt} of ${view.maxAttempts} failed (${view.lastError.message}); it will be retried.`;
      }
      return view.status === "queued" ? "Queued: waiting for a worker." : "Running.";
    }
  }
}
