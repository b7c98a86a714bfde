import { ScanCommand } from "@aws-sdk/client-dynamodb";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  type CallToolResult,
  CallToolResultSchema,
  type CreateTaskResult,
  CreateTaskResultSchema,
  McpError,
  RELATED_TASK_META_KEY,
  type Task,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobStatus } from "../../lambdas/shared/domain/job.js";
import { MODEL_IMMEDIATE_RESPONSE, TASKS_CAPABILITY } from "../../lambdas/shared/mcp/tasks.js";
import type { LocalStack } from "../../local/local-stack.js";
import { callForJob, callTool, connectClient, type JobAnswer, startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated, queueDrained } from "../support/nothing-created.js";
import { MCP_HEADERS } from "../support/raw-mcp.js";

const ALICE_KEY = "alice-key-3c2b1a0f9e8d7c6b5a49";
const BOB_KEY = "bob-key-9f8e7d6c5b4a39281706f5";
const CAROL_KEY = "carol-key-1a2b3c4d5e6f7a8b9c0d1e";
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";
const DAY_MS = 24 * 3600 * 1000;

let stack: LocalStack;
let alice: Client;
let bob: Client;

beforeAll(async () => {
  stack = await startTestStack({
    env: { AUTH_MODE: "api-key", API_KEYS: `alice:${ALICE_KEY},bob:${BOB_KEY},carol:${CAROL_KEY}` },
  });
  alice = await connectClient(stack.mcpUrl, { authorization: `Bearer ${ALICE_KEY}` });
  bob = await connectClient(stack.mcpUrl, { authorization: `Bearer ${BOB_KEY}` });
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await stack?.stop();
});

/** A task-augmented tools/call, as a client that speaks 2025-11-25 Tasks sends it. */
function startTask(
  client: Client,
  args: Record<string, unknown>,
  name = "start_slow_api",
): Promise<CreateTaskResult> {
  return client.request({ method: "tools/call", params: { name, arguments: args } }, CreateTaskResultSchema, {
    task: { ttl: 60_000 },
  });
}

const TASK_STATUS: Record<JobStatus, Task["status"]> = {
  queued: "working",
  running: "working",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

/** Reads the task and the job, and checks that both doors show the same job in the same state. */
async function bothDoors(client: Client, taskId: string): Promise<{ task: Task; job: JobAnswer }> {
  for (let attempt = 0; ; attempt++) {
    const task = await client.experimental.tasks.getTask(taskId);
    const job = await callForJob(client, "get_job", { jobId: taskId });
    // The worker may move the job between the two reads; the same state read twice is the answer.
    if (job.updatedAt !== task.lastUpdatedAt && attempt < 20) continue;
    expect(task.taskId).toBe(job.jobId);
    expect(task.status).toBe(TASK_STATUS[job.status]);
    expect(task.createdAt).toBe(job.createdAt);
    expect(task.lastUpdatedAt).toBe(job.updatedAt);
    expect(task.ttl).toBe(Date.parse(job.expiresAt) - Date.parse(job.createdAt));
    expect(task.pollInterval).toBe(
      job.pollAfterSeconds === undefined ? undefined : job.pollAfterSeconds * 1000,
    );
    return { task, job };
  }
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The keys of the table's rows that are not jobs. */
async function helperRowIds(): Promise<string[]> {
  const { Items = [] } = await stack.clients.dynamo.send(
    new ScanCommand({ TableName: stack.resources.tableName, ProjectionExpression: "id" }),
  );
  return Items.map((item) => item.id?.S ?? "").filter((id) => !jobIdPattern.test(id));
}

const jobIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function rpcError(call: () => Promise<unknown>): Promise<McpError> {
  const error = await call().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(McpError);
  return error as McpError;
}

/** One raw JSON-RPC request over HTTP with `key`: status, content type and the exact body. */
async function raw(key: string, method: string, params: Record<string, unknown>): Promise<string> {
  const response = await fetch(stack.mcpUrl, {
    method: "POST",
    headers: { ...MCP_HEADERS, authorization: `Bearer ${key}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 7, method, params }),
  });
  return `${response.status} ${response.headers.get("content-type")}\n${await response.text()}`;
}

describe("bad task requests get a clear error and create nothing", () => {
  it("a task-augmented start with invalid arguments answers -32602 with the start's own message", async () => {
    const error = await expectNothingCreated(stack, () =>
      rpcError(() => startTask(alice, { query: "", delaySeconds: 0 })),
    );
    expect(error.code).toBe(-32602);
    expect(error.message).toMatch(/Input validation error/);
    expect(error.message).toMatch(/query/);
  });

  it("a task-augmented call of a tool that does not start a job answers -32601", async () => {
    const error = await expectNothingCreated(stack, () =>
      rpcError(() => startTask(alice, { jobId: UNKNOWN_ID }, "get_job")),
    );
    expect(error.code).toBe(-32601);
    expect(error.message).toMatch(/only the start_\* tools/);
  });

  it("a missing taskId is named; a taskId that is no job id, even a helper row's own key, is not found", async () => {
    const missing = await raw(ALICE_KEY, "tasks/get", {});
    expect(missing).toMatch(/"code":-32602/);
    expect(missing).toMatch(/taskId is required/);
    // The table's helper rows (here an idempotency key's) share the job key space.
    await startTask(alice, { query: "helper rows", delaySeconds: 0, idempotencyKey: "helper-row-key" });
    const helperIds = await helperRowIds();
    expect(helperIds.some((id) => id.startsWith("idempotency#"))).toBe(true);
    const notFound = await raw(ALICE_KEY, "tasks/get", { taskId: UNKNOWN_ID });
    expect(notFound).toMatch(/not found/i);
    for (const taskId of helperIds) {
      expect(await raw(ALICE_KEY, "tasks/get", { taskId })).toBe(notFound.replaceAll(UNKNOWN_ID, taskId));
    }
    const cancel = await expectNothingCreated(stack, () => raw(ALICE_KEY, "tasks/cancel", { taskId: 42 }));
    expect(cancel).toMatch(/taskId is required/);
  });
});

describe("a client without task support", () => {
  it("sees the same tools, called the same way; only start_* tools declare taskSupport optional", async () => {
    expect(alice.getServerCapabilities()?.tasks).toEqual(TASKS_CAPABILITY);
    const { tools } = await alice.listTools();
    for (const tool of tools) {
      expect(tool.execution?.taskSupport).toBe(tool.name.startsWith("start_") ? "optional" : "forbidden");
    }
    // A plain call answers the job handle at once, exactly as before: no task, the job view only.
    const job = await callForJob(alice, "start_slow_api", { query: "plain", delaySeconds: 0 });
    expect(job.status).toBe("queued");
    const done = await callForJob(alice, "get_job", { jobId: job.jobId, waitSeconds: 10 });
    expect(done.result).toEqual({ answer: "Slow result for: plain" });
    // The job a plain call started is a task too, in the same state.
    expect((await bothDoors(alice, job.jobId)).task.status).toBe("completed");
  });
});

describe("a start_* tool run as a task", () => {
  it("answers a task at once, moves working → completed, and tasks/result returns what get_job returns", async () => {
    // waitSeconds is ignored on a task-augmented start: the task answers at once, while the 4 s
    // job is still working (a start that waited would answer it completed).
    const created = await startTask(alice, { query: "tasks", delaySeconds: 4, waitSeconds: 10 });
    const { task } = created;
    expect(task.status).toBe("working");
    expect(task.taskId).toMatch(/^[0-9a-f-]{36}$/);
    // The job's own lifetime wins over the requested 60 s: the row lives as long as the job id works.
    expect(task.ttl).toBeLessThanOrEqual(DAY_MS);
    expect(task.ttl).toBeGreaterThan(DAY_MS - 1_000);
    expect(task.pollInterval).toBe(5_000);
    expect(created._meta?.[MODEL_IMMEDIATE_RESPONSE]).toContain(task.taskId);
    expect(created._meta?.[MODEL_IMMEDIATE_RESPONSE]).toMatch(/get_job/);

    const first = await bothDoors(alice, task.taskId);
    expect(first.task.status).toBe("working");
    expect(["queued", "running"]).toContain(first.job.status);

    const seen = new Set<string>();
    const ended = await until(
      async () => {
        const both = await bothDoors(alice, task.taskId);
        seen.add(both.task.status);
        return both;
      },
      (both) => both.task.status !== "working",
    );
    expect(ended.task.status).toBe("completed");
    expect(ended.job.status).toBe("completed");
    expect(seen).toContain("working");
    expect(ended.task).not.toHaveProperty("pollInterval");

    const result = await alice.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    const getJob = (await alice.callTool({
      name: "get_job",
      arguments: { jobId: task.taskId },
    })) as CallToolResult;
    const { _meta, ...payload } = result;
    expect(_meta?.[RELATED_TASK_META_KEY]).toEqual({ taskId: task.taskId });
    expect(payload).toEqual(getJob);
    expect(result.structuredContent).toMatchObject({ result: { answer: "Slow result for: tasks" } });

    const { tasks } = await alice.experimental.tasks.listTasks();
    expect(tasks[0]).toEqual(ended.task);
  });

  it("the SDK's own task stream runs a start to its result", async () => {
    const kinds: string[] = [];
    let final: CallToolResult | undefined;
    const stream = alice.experimental.tasks.callToolStream(
      { name: "start_slow_api", arguments: { query: "stream", delaySeconds: 1 } },
      CallToolResultSchema,
      { task: {} },
    );
    for await (const message of stream) {
      kinds.push(message.type);
      if (message.type === "result") final = message.result as CallToolResult;
      if (message.type === "error") throw message.error;
    }
    expect(kinds[0]).toBe("taskCreated");
    expect(kinds.at(-1)).toBe("result");
    expect(final?.structuredContent).toMatchObject({
      status: "completed",
      result: { answer: "Slow result for: stream" },
    });
  });

  it("the same idempotencyKey gives the same task", async () => {
    const args = { query: "same", delaySeconds: 0, idempotencyKey: "task-key-1" };
    const one = await startTask(alice, args);
    const two = await startTask(alice, args);
    expect(two.task.taskId).toBe(one.task.taskId);
  });

  it("tasks/cancel on a running job ends it cancelled; get_job agrees; a second cancel is refused", async () => {
    const { task } = await startTask(alice, { query: "to cancel", delaySeconds: 30 });
    const running = await until(
      () => callForJob(alice, "get_job", { jobId: task.taskId }),
      (job) => job.status === "running",
    );
    expect(running.status).toBe("running");
    expect((await bothDoors(alice, task.taskId)).task.statusMessage).toMatch(/Calling the slow API|Waited/);

    const cancelled = await alice.experimental.tasks.cancelTask(task.taskId);
    expect(cancelled.status).toBe("cancelled");
    const after = await bothDoors(alice, task.taskId);
    expect(after.job.status).toBe("cancelled");
    const { _meta: _cancelMeta, ...cancelAnswer } = cancelled;
    expect(cancelAnswer).toEqual(after.task);

    const again = await rpcError(() => alice.experimental.tasks.cancelTask(task.taskId));
    expect(again.code).toBe(-32602);
    expect(again.message).toMatch(/already ended \(cancelled\)/);

    // It stays cancelled once the worker has noticed and let go of the message, and tasks/result
    // answers get_job's cancelled job.
    await queueDrained(stack);
    expect((await bothDoors(alice, task.taskId)).task).toEqual(after.task);
    const result = await alice.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ status: "cancelled", error: { code: "cancelled" } });
  });

  it("tasks/cancel on a job that already completed is refused with -32602 and changes nothing", async () => {
    const { task } = await startTask(alice, { query: "done", delaySeconds: 0 });
    await until(
      () => callForJob(alice, "get_job", { jobId: task.taskId }),
      (job) => job.status === "completed",
    );
    const error = await rpcError(() => alice.experimental.tasks.cancelTask(task.taskId));
    expect(error.code).toBe(-32602);
    expect(error.message).toMatch(/already ended \(completed\)/);
    expect((await bothDoors(alice, task.taskId)).job.status).toBe("completed");
  });

  it("tasks/result on a task still working waits at most the bounded wait, then says to poll tasks/get", async () => {
    const { task } = await startTask(alice, { query: "long", delaySeconds: 120 });
    try {
      const startedAt = Date.now();
      const error = await rpcError(() =>
        alice.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema, { timeout: 45_000 }),
      );
      const waitedMs = Date.now() - startedAt;
      expect(error.code).toBe(-32001);
      expect(error.message).toMatch(/still working/);
      expect(error.message).toMatch(/poll tasks\/get/i);
      expect(error.data).toMatchObject({ taskId: task.taskId, status: "working", pollInterval: 5_000 });
      // It did wait server-side. That the wait never passes the caller's deadline is the job
      // service's own test (waitFor's reads); here the client's 45 s timeout is the bound.
      expect(waitedMs).toBeGreaterThan(15_000);
    } finally {
      await alice.experimental.tasks.cancelTask(task.taskId);
    }
  }, 60_000);
});

describe("tasks/list", () => {
  it("lists the caller's tasks newest first, page by page with list_jobs' cursor", async () => {
    const carol = await connectClient(stack.mcpUrl, { authorization: `Bearer ${CAROL_KEY}` });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 23; i++)
        ids.push((await startTask(carol, { query: `page ${i}`, delaySeconds: 0 })).task.taskId);
      const first = await carol.experimental.tasks.listTasks();
      expect(first.tasks).toHaveLength(20);
      expect(first.nextCursor).toBeTruthy();
      const second = await carol.experimental.tasks.listTasks(first.nextCursor);
      expect(second.nextCursor).toBeUndefined();
      const listed = [...first.tasks, ...second.tasks].map((task) => task.taskId);
      expect(listed).toEqual([...ids].reverse());

      // The cursor is list_jobs' own: a list_jobs cursor pages tasks/list, and the pages agree.
      const jobs = await callTool(carol, "list_jobs", { limit: 20 });
      const jobsCursor = (jobs.structured as { nextCursor: string }).nextCursor;
      const viaJobsCursor = await carol.experimental.tasks.listTasks(jobsCursor);
      expect(viaJobsCursor.tasks.map((task) => task.taskId)).toEqual(second.tasks.map((task) => task.taskId));
    } finally {
      await carol.close();
    }
  });

  it("a cursor that is not one of ours is refused with -32602", async () => {
    const error = await rpcError(() => alice.experimental.tasks.listTasks("not-a-cursor"));
    expect(error.code).toBe(-32602);
    expect(error.message).toMatch(/cursor is not valid/);
  });
});

describe("another caller's task is an unknown task", () => {
  it("tasks/get, tasks/result and tasks/cancel answer byte for byte as for an unknown id; tasks/list never shows it", async () => {
    const { task } = await startTask(alice, { query: "alice only", delaySeconds: 20 });
    try {
      for (const method of ["tasks/get", "tasks/result", "tasks/cancel"]) {
        const foreign = await raw(BOB_KEY, method, { taskId: task.taskId });
        const unknown = await raw(BOB_KEY, method, { taskId: UNKNOWN_ID });
        expect(foreign).toBe(unknown);
        expect(foreign).toMatch(/"code":-32602/);
        expect(foreign).toMatch(/Task not found/);
      }
      const own = await startTask(bob, { query: "bob's", delaySeconds: 0 });
      const listed = (await bob.experimental.tasks.listTasks()).tasks.map((bobs) => bobs.taskId);
      expect(listed).toContain(own.task.taskId);
      expect(listed).not.toContain(task.taskId);

      // Bob's cancel changed nothing: the job still runs for Alice.
      const mine = await bothDoors(alice, task.taskId);
      expect(mine.task.status).toBe("working");
    } finally {
      await alice.experimental.tasks.cancelTask(task.taskId);
    }
  });
});
