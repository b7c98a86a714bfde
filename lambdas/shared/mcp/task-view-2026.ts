import type { JobStatus, JobView } from "../domain/job.js";
import { statusMessage } from "./task-view.js";
import type { ToolAnswer } from "./tool-catalog.js";

/** The extension id a client declares in its envelope and the server in `server/discover`. */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

/** Task statuses of the Tasks extension (`io.modelcontextprotocol/tasks`, protocol 2026-07-28). */
export type TaskStatus2026 = "working" | "input_required" | "completed" | "failed" | "cancelled";

/**
 * A job that ended with an error is still a completed task: its result is the isError tool answer.
 * The extension keeps `failed` for protocol errors, which a job never is.
 */
const TASK_STATUS = {
  queued: "working",
  running: "working",
  completed: "completed",
  failed: "completed",
  cancelled: "cancelled",
} as const satisfies Record<JobStatus, TaskStatus2026>;

/** A type, not an interface: results must fit the SDK's open result type. */
export type Task2026 = {
  readonly taskId: string;
  readonly status: TaskStatus2026;
  readonly statusMessage?: string;
  readonly createdAt: string;
  readonly lastUpdatedAt: string;
  /** Milliseconds from createdAt until the job id stops working (always an integer). */
  readonly ttlMs: number;
  readonly pollIntervalMs?: number;
};

/**
 * A job as a 2026 task, taken from the job tools' own view of it so that `tasks/get` and `get_job`
 * never disagree: the task id is the job id, `pollIntervalMs` is the view's `pollAfterSeconds`
 * and `ttlMs` runs from creation to the job's expiry.
 */
export function toTask2026(view: JobView): Task2026 {
  const message = taskStatusMessage(view);
  return {
    taskId: view.jobId,
    status: TASK_STATUS[view.status],
    ...(message !== undefined ? { statusMessage: message } : {}),
    createdAt: view.createdAt,
    lastUpdatedAt: view.updatedAt,
    ttlMs: Math.max(0, Date.parse(view.expiresAt) - Date.parse(view.createdAt)),
    ...(view.pollAfterSeconds !== undefined ? { pollIntervalMs: view.pollAfterSeconds * 1000 } : {}),
  };
}

/** The answer to a task-capable `tools/call`: the task, once its row is written. */
export function createTaskResult(view: JobView): Task2026 & { readonly resultType: "task" } {
  return { resultType: "task", ...toTask2026(view) };
}

/**
 * What `tasks/get` answers: the task and, once it has ended, the tool answer `get_job` gives for
 * the job, inline (marked `isError` when the job failed).
 */
export function detailedTask(
  view: JobView,
  answer: ToolAnswer | undefined,
): Task2026 & { readonly resultType: "complete"; readonly result?: Record<string, unknown> } {
  const task = toTask2026(view);
  if (task.status !== "completed" || answer === undefined) return { resultType: "complete", ...task };
  return {
    resultType: "complete",
    ...task,
    result: {
      ...answer,
      resultType: "complete",
      ...(view.status === "failed" ? { isError: true } : {}),
    },
  };
}

/** A person watching a task sees progress while it works and why it stopped when it failed or was cancelled. */
function taskStatusMessage(view: JobView): string | undefined {
  if (view.status === "completed") return undefined;
  return statusMessage(view);
}
