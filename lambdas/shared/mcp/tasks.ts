import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  type CreateTaskResult,
  ErrorCode,
  type ListTasksResult,
  ListToolsRequestSchema,
  type ListToolsResult,
  RELATED_TASK_META_KEY,
  type Task,
} from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import { DomainError, InvalidCursorError, JobNotFoundError } from "../domain/errors.js";
import { isTerminal, type JobRow, type JobView } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { JobService } from "../usecases/job-service.js";
import { toTask } from "./task-view.js";
import type { RequestScope } from "./tool-catalog.js";
import {
  JobOutput,
  jobId,
  ListJobsInput,
  MAX_WAIT_SECONDS,
  UNRECORDED_JOB_ID_META_KEY,
} from "./tool-schemas.js";

/** What the server declares: `tasks/list`, `tasks/cancel`, and task-augmented `tools/call`. */
export const TASKS_CAPABILITY = { list: {}, cancel: {}, requests: { tools: { call: {} } } } as const;

/** The `_meta` key whose text a host may hand the model at once instead of waiting (2025-11-25 Tasks). */
export const MODEL_IMMEDIATE_RESPONSE = "io.modelcontextprotocol/model-immediate-response";

/** The one answer for an unknown, expired or foreign task id: it names no id, so nothing can differ. */
export const TASK_NOT_FOUND = "Task not found: it does not exist or has expired.";

export interface TaskDoorDeps {
  readonly service: JobService;
  readonly log: Log;
  /**
   * The request's scope: its verified caller (every task read or changed is one of this owner's
   * jobs) and the epoch millisecond by which every answer must be on its way.
   */
  scopeOf(extra: { readonly authInfo?: AuthInfo | undefined }): RequestScope;
  /** The tools that start a job: these accept a task-augmented call. */
  readonly startTools: ReadonlySet<string>;
  /** The door's tools/list answer, before the Tasks door marks the start tools. */
  listTools(): ListToolsResult;
  /** The door's plain tools/call. */
  callTool(request: CallToolRequest, scope: RequestScope): Promise<CallToolResult>;
  /** A start tool's start use case alone (its arguments validated; it never waits): the job view, or an isError answer. */
  startJob(name: string, args: unknown, scope: RequestScope): Promise<CallToolResult>;
  /** The job as get_job shows it (its pollAfterSeconds included), so a task never disagrees with it. */
  viewOf(job: JobRow): JobView;
  /** What get_job answers for a job: `tasks/result` returns exactly this. */
  answerFor(job: JobRow): Promise<CallToolResult>;
}

/** A JSON-RPC error answer; the SDK sends `code`, `message` and `data` as they are. */
class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}

// Our own request schemas: a missing or malformed taskId gets a clear -32602 instead of the SDK's
// schema dump as an internal error. Known keys are checked in the handlers; others are ignored.
const taskIdParams = z.looseObject({ taskId: z.unknown().optional() }).optional();
const GetTaskRequest = z.object({ method: z.literal("tasks/get"), params: taskIdParams });
const TaskResultRequest = z.object({ method: z.literal("tasks/result"), params: taskIdParams });
const CancelTaskRequest = z.object({ method: z.literal("tasks/cancel"), params: taskIdParams });
const ListTasksRequest = z.object({
  method: z.literal("tasks/list"),
  params: z.looseObject({ cursor: z.unknown().optional() }).optional(),
});

/**
 * MCP Tasks (2025-11-25) as a second door to the same job rows: a task is a job, its id the job id,
 * read and changed through the same use cases and owner scoping as the job tools. Nothing here
 * keeps state or runs after the answer, so it serves a stateless endpoint on Lambda.
 *
 * Why not the SDK's `TaskStore` and `registerToolTask`: its `tasks/result` blocks until the task
 * ends (API Gateway answers 504 at 30 s), a tool with taskSupport "optional" answers a plain call
 * by polling until the job ends (a plain start must answer at once, as it always has), and the store
 * is written for work that runs inside the request (`storeTaskResult`, `updateTaskStatus` to any
 * status): here the worker owns every state change.
 */
export function serveTasks(low: Server, deps: TaskDoorDeps): void {
  low.registerCapabilities({ tasks: TASKS_CAPABILITY });
  const serve = <T>(run: () => Promise<T>): Promise<T> => translateErrors(deps.log, run);

  low.setRequestHandler(ListToolsRequestSchema, () => {
    const listed = deps.listTools();
    return {
      ...listed,
      tools: listed.tools.map((tool) =>
        deps.startTools.has(tool.name)
          ? { ...tool, execution: { ...tool.execution, taskSupport: "optional" as const } }
          : tool,
      ),
    };
  });

  low.setRequestHandler(CallToolRequestSchema, (request, extra) => {
    const scope = deps.scopeOf(extra);
    return request.params.task === undefined
      ? deps.callTool(request, scope)
      : serve(() => startTask(request, scope));
  });

  /** A task-augmented start is the plain start (same validation, limits, idempotency), answered as a task. */
  async function startTask(request: CallToolRequest, scope: RequestScope): Promise<CreateTaskResult> {
    const { task: _taskParams, ...params } = request.params;
    if (!deps.startTools.has(params.name)) {
      throw new RpcError(
        ErrorCode.MethodNotFound,
        `Tool ${params.name} does not run as a task: only the start_* tools accept a task-augmented tools/call. Call it without "task".`,
      );
    }
    // The task answers at once; waiting for the outcome is what tasks/result is for.
    const started = await deps.startJob(params.name, params.arguments, scope);
    if (started.isError === true || started.structuredContent === undefined) {
      const unrecorded = started._meta?.[UNRECORDED_JOB_ID_META_KEY];
      if (typeof unrecorded === "string") {
        // The job may exist after all: the error names the id to look for (tasks/get or get_job).
        throw new RpcError(ErrorCode.InternalError, textOf(started), {
          jobId: unrecorded,
          taskId: unrecorded,
        });
      }
      // No job exists, so there is no task to answer with: the start's own message becomes the error.
      throw new RpcError(ErrorCode.InvalidParams, textOf(started));
    }
    const task = toTask(JobOutput.parse(started.structuredContent));
    return {
      task,
      _meta: {
        [MODEL_IMMEDIATE_RESPONSE]: `Started job ${task.taskId} (${params.name}); it runs in the background and its result follows when it ends. To check it yourself, call get_job with {"jobId":"${task.taskId}"}.`,
      },
    };
  }

  async function find(taskId: unknown, owner: string): Promise<JobRow> {
    if (typeof taskId !== "string" || taskId === "") {
      throw new RpcError(
        ErrorCode.InvalidParams,
        "taskId is required: pass the taskId a task-augmented tools/call answered.",
      );
    }
    // Not one of our ids, so no job can have it: the same answer as for any unknown id.
    if (!jobId.safeParse(taskId).success) throw new JobNotFoundError(taskId);
    return deps.service.get(owner, taskId);
  }

  low.setRequestHandler(GetTaskRequest, (request, extra) =>
    serve(
      async (): Promise<Task> =>
        toTask(deps.viewOf(await find(request.params?.taskId, deps.scopeOf(extra).caller.principal))),
    ),
  );

  low.setRequestHandler(TaskResultRequest, (request, extra) =>
    serve(async (): Promise<CallToolResult> => {
      const { caller, answerBy } = deps.scopeOf(extra);
      const job = await find(request.params?.taskId, caller.principal);
      // A Lambda behind API Gateway cannot block until a long job ends, so the wait is get_job's bounded one.
      const ended = isTerminal(job.status)
        ? job
        : await deps.service.waitFor(caller.principal, job.id, {
            waitMs: MAX_WAIT_SECONDS * 1000,
            notAfter: answerBy,
          });
      if (!isTerminal(ended.status)) {
        const task = toTask(deps.viewOf(ended));
        throw new RpcError(
          ErrorCode.RequestTimeout,
          `Task ${task.taskId} is still working after this server's longest wait (up to ${MAX_WAIT_SECONDS} s; a request cannot last longer). Poll tasks/get every pollInterval ms and call tasks/result again once its status is completed, failed or cancelled.`,
          {
            taskId: task.taskId,
            status: task.status,
            ...(task.pollInterval ? { pollInterval: task.pollInterval } : {}),
          },
        );
      }
      const answer = await deps.answerFor(ended);
      return { ...answer, _meta: { ...answer._meta, [RELATED_TASK_META_KEY]: { taskId: ended.id } } };
    }),
  );

  low.setRequestHandler(ListTasksRequest, (request, extra) =>
    serve(async (): Promise<ListTasksResult> => {
      const owner = deps.scopeOf(extra).caller.principal;
      const cursor = request.params?.cursor;
      const query = ListJobsInput.safeParse(cursor === undefined ? {} : { cursor });
      if (!query.success) throw new InvalidCursorError();
      const page = await deps.service.list(owner, {
        limit: query.data.limit,
        ...(query.data.cursor !== undefined ? { cursor: query.data.cursor } : {}),
      });
      return {
        tasks: page.jobs.map((job) => toTask(deps.viewOf(job))),
        ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}),
      };
    }),
  );

  low.setRequestHandler(CancelTaskRequest, (request, extra) =>
    serve(async (): Promise<Task> => {
      const owner = deps.scopeOf(extra).caller.principal;
      const job = await find(request.params?.taskId, owner);
      // The protocol refuses to cancel an ended task, where cancel_job answers its state unchanged.
      const after = isTerminal(job.status) ? job : await deps.service.cancel(owner, job.id);
      if (isTerminal(job.status) || after.status !== "cancelled") {
        throw new RpcError(
          ErrorCode.InvalidParams,
          `Task ${job.id} has already ended (${after.status}): a task in a final status cannot be cancelled.`,
        );
      }
      return toTask(deps.viewOf(after));
    }),
  );
}

/** Named errors become JSON-RPC errors with a safe message; anything else is logged and answered generically. */
async function translateErrors<T>(log: Log, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof RpcError) throw error;
    if (error instanceof JobNotFoundError) throw new RpcError(ErrorCode.InvalidParams, TASK_NOT_FOUND);
    if (error instanceof InvalidCursorError) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        "cursor is not valid: pass the nextCursor of a previous tasks/list answer unchanged.",
      );
    }
    if (error instanceof DomainError) throw new RpcError(ErrorCode.InvalidParams, error.message);
    log.error("Task request failed unexpectedly", { error });
    throw new RpcError(
      ErrorCode.InternalError,
      "Internal error: the request could not be completed. Try again shortly.",
    );
  }
}

function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === "text" ? first.text : "The job could not be started.";
}
