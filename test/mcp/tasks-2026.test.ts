import type { Client as ModernClient } from "@modelcontextprotocol/client";
import {
  CallToolResultV2Schema,
  CancelTaskResultV2Schema,
  CreateTaskResultV2Schema,
  DetailedTaskV2Schema,
  GetTaskResultV2Schema,
  UpdateTaskResultV2Schema,
} from "@modelcontextprotocol/ext-tasks/core/v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as z from "zod";
import type { JobView } from "../../lambdas/shared/domain/job.js";
import type { LocalStack } from "../../local/local-stack.js";
import { connectModernClient, exactly, postModern } from "../support/mcp-2026.js";
import { startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated } from "../support/nothing-created.js";

const ALICE_KEY = "alice-key-5e4d3c2b1a09f8e7d6c5";
const BOB_KEY = "bob-key-c5d6e7f8091a2b3c4d5e6f";
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

let stack: LocalStack;
let alice: ModernClient;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      AUTH_MODE: "api-key",
      API_KEYS: `alice:${ALICE_KEY},bob:${BOB_KEY}`,
      // As deployed: answers about a stored result carry a presigned link (fauxqs serves S3).
      JOB_RESULT_PRESIGNED_URLS: "true",
    },
  });
  alice = await connectModernClient(stack.mcpUrl, { authorization: `Bearer ${ALICE_KEY}` }, { tasks: true });
});

afterAll(async () => {
  await alice?.close();
  await stack?.stop();
});

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

/** A JSON-RPC answer's `result` or `error`, with the HTTP status. */
async function rpc(
  response: Response,
): Promise<{ status: number; result?: Record<string, unknown>; error?: { code: number; message: string } }> {
  const body = (await response.json()) as {
    result?: Record<string, unknown>;
    error?: { code: number; message: string };
  };
  return { status: response.status, ...body };
}

/** A `tools/call` as a 2026 host that declares the Tasks extension sends it. */
async function startTask(
  args: Record<string, unknown>,
  tool = "start_slow_api",
): Promise<z.infer<typeof CreateTaskResultV2Schema>> {
  const answer = await rpc(
    await postModern(stack.mcpUrl, {
      method: "tools/call",
      name: tool,
      params: { name: tool, arguments: args },
      headers: auth(ALICE_KEY),
    }),
  );
  expect(answer.error).toBeUndefined();
  return CreateTaskResultV2Schema.parse(answer.result);
}

function taskRequest(method: string, taskId: string, key = ALICE_KEY, id = 1): Promise<Response> {
  return postModern(stack.mcpUrl, { method, name: taskId, params: { taskId }, headers: auth(key), id });
}

async function getTask(taskId: string): Promise<z.infer<typeof GetTaskResultV2Schema>> {
  const answer = await rpc(await taskRequest("tasks/get", taskId));
  expect(answer.error).toBeUndefined();
  expect(DetailedTaskV2Schema.safeParse(answer.result).success).toBe(true);
  return GetTaskResultV2Schema.parse(answer.result);
}

/** Polls tasks/get as a host does, honouring pollIntervalMs (capped so tests stay quick). */
async function untilEnded(taskId: string): Promise<z.infer<typeof GetTaskResultV2Schema>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const task = await getTask(taskId);
    if (task.status !== "working" || Date.now() > deadline) return task;
    await new Promise((resolve) => setTimeout(resolve, Math.min(task.pollIntervalMs ?? 1000, 500)));
  }
}

/** What get_job answers for the job, through the official v2 client. */
async function getJob(jobId: string): Promise<{ result: Record<string, unknown>; job: JobView }> {
  const result = (await alice.callTool({ name: "get_job", arguments: { jobId } })) as Record<string, unknown>;
  return { result, job: result.structuredContent as JobView };
}

describe("a tools/call that declares the Tasks extension answers a task", () => {
  it("a start answers at once with the job as a working task, its row already written", async () => {
    // Timed for the report only (speed is asserted in bench/, not here): the first start, then warm ones.
    const timings: number[] = [];
    for (let n = 0; n < 5; n++) {
      const started = performance.now();
      await startTask({ query: `warm ${n}`, delaySeconds: 0 });
      timings.push(Math.round(performance.now() - started));
    }
    const started = performance.now();
    const task = await startTask({ query: "task", delaySeconds: 2 });
    timings.push(Math.round(performance.now() - started));
    console.info(`2026 task starts answered in ${timings.join(", ")} ms`);
    expect(task.resultType).toBe("task");
    expect(task.status).toBe("working");
    // The task id is the job id, and the job tools see the same job at once.
    const { job } = await getJob(task.taskId);
    expect(job.jobId).toBe(task.taskId);
    expect(task.createdAt).toBe(job.createdAt);
    expect(task.ttlMs).toBe(Date.parse(job.expiresAt) - Date.parse(job.createdAt));
    expect(Number.isInteger(task.ttlMs)).toBe(true);
    expect(task.pollIntervalMs).toBe((job.pollAfterSeconds ?? 0) * 1000);
    expect(task.statusMessage).toMatch(/Queued|Running|Waited/);
  });

  it("tasks/get moves working → completed with get_job's answer inline", async () => {
    const task = await startTask({ query: "inline", delaySeconds: 1 });
    const first = await getTask(task.taskId);
    expect(first.status).toBe("working");
    const ended = await untilEnded(task.taskId);
    expect(ended.status).toBe("completed");
    if (ended.status !== "completed") return;
    const result = CallToolResultV2Schema.parse(ended.result);
    expect(result.resultType).toBe("complete");
    expect(result.isError).toBeUndefined();
    const { result: getJobAnswer } = await getJob(task.taskId);
    expect(ended.result.structuredContent).toEqual(getJobAnswer.structuredContent);
    expect(ended.result.content).toEqual(getJobAnswer.content);
    expect((ended.result.structuredContent as JobView).result).toEqual({ answer: "Slow result for: inline" });
  });

  it("a job that fails is a completed task whose result is an isError answer", async () => {
    const task = await startTask({ query: "boom", delaySeconds: 0 }, "start_failing_api");
    const ended = await untilEnded(task.taskId);
    expect(ended.status).toBe("completed");
    if (ended.status !== "completed") return;
    const result = CallToolResultV2Schema.parse(ended.result);
    expect(result.isError).toBe(true);
    expect((result.structuredContent as JobView).status).toBe("failed");
    expect(ended.statusMessage).toBe((result.structuredContent as JobView).error?.message);
  });

  it("a result stored in S3 comes with read_job_result's hint and a link, as get_job answers it", async () => {
    const task = await startTask({ query: "big", rows: 2_000, delaySeconds: 0 }, "start_export_api");
    const ended = await untilEnded(task.taskId);
    expect(ended.status).toBe("completed");
    if (ended.status !== "completed") return;
    const result = CallToolResultV2Schema.parse(ended.result);
    const view = result.structuredContent as JobView;
    expect(view.resultStored).toBe("s3");
    expect(view.resultHint).toMatch(/read_job_result/);
    expect(view.resultUrl).toMatch(/^http/);
    expect(result.content).toContainEqual(
      expect.objectContaining({ type: "resource_link", uri: view.resultUrl }),
    );
  });

  it("the same idempotencyKey gives the same task", async () => {
    const first = await startTask({ query: "same", delaySeconds: 0, idempotencyKey: "task-2026-same" });
    const again = await startTask({ query: "same", delaySeconds: 0, idempotencyKey: "task-2026-same" });
    expect(again.taskId).toBe(first.taskId);
  });

  it("without the capability the same call answers the plain job handle", async () => {
    const answer = await rpc(
      await postModern(stack.mcpUrl, {
        method: "tools/call",
        name: "start_slow_api",
        params: { name: "start_slow_api", arguments: { query: "plain", delaySeconds: 0 } },
        headers: auth(ALICE_KEY),
        tasks: false,
      }),
    );
    expect(answer.result?.resultType).toBe("complete");
    expect(answer.result?.structuredContent).toMatchObject({ status: "queued" });
  });

  it("bad arguments create no task, no row and no message", async () => {
    const answer = await expectNothingCreated(stack, async () =>
      rpc(
        await postModern(stack.mcpUrl, {
          method: "tools/call",
          name: "start_slow_api",
          params: { name: "start_slow_api", arguments: { query: "", delaySeconds: 0 } },
          headers: auth(ALICE_KEY),
        }),
      ),
    );
    expect(answer.result?.resultType).toBe("complete");
    expect(answer.result?.isError).toBe(true);
    expect(JSON.stringify(answer.result?.content)).toMatch(/Input validation error.*query/);
  });
});

describe("tasks/cancel and tasks/update", () => {
  it("tasks/cancel ends a running job cancelled, and get_job agrees", async () => {
    const task = await startTask({ query: "cancel me", delaySeconds: 60 });
    const answer = await rpc(await taskRequest("tasks/cancel", task.taskId));
    expect(answer.status).toBe(200);
    expect(CancelTaskResultV2Schema.parse(answer.result).resultType).toBe("complete");
    const after = await getTask(task.taskId);
    expect(after.status).toBe("cancelled");
    expect((await getJob(task.taskId)).job.status).toBe("cancelled");
  });

  it("tasks/update acknowledges a known task with an empty answer", async () => {
    const task = await startTask({ query: "update", delaySeconds: 0 });
    const answer = await rpc(
      await postModern(stack.mcpUrl, {
        method: "tasks/update",
        name: task.taskId,
        params: { taskId: task.taskId, inputResponses: {} },
        headers: auth(ALICE_KEY),
      }),
    );
    expect(UpdateTaskResultV2Schema.parse(answer.result).resultType).toBe("complete");
  });
});

describe("unknown, foreign and mismatched task ids", () => {
  it("an unknown id answers -32602 on tasks/get, tasks/cancel and tasks/update", async () => {
    for (const method of ["tasks/get", "tasks/cancel", "tasks/update"]) {
      const answer = await rpc(await taskRequest(method, UNKNOWN_ID));
      expect(answer.error?.code).toBe(-32602);
    }
  });

  it("another caller's tasks/get and tasks/cancel answer byte for byte as an unknown id, and change nothing", async () => {
    const task = await startTask({ query: "alice only", delaySeconds: 30 });
    for (const method of ["tasks/get", "tasks/cancel"]) {
      const foreign = await exactly(await taskRequest(method, task.taskId, BOB_KEY, 9));
      const unknown = await exactly(await taskRequest(method, UNKNOWN_ID, BOB_KEY, 9));
      expect(foreign).toBe(unknown);
      expect(foreign).toMatch(/"code":-32602/);
    }
    expect((await getTask(task.taskId)).status).toBe("working");
    await taskRequest("tasks/cancel", task.taskId);
  });

  it("a tasks/get whose Mcp-Name differs from the task id is refused with 400", async () => {
    const task = await startTask({ query: "name", delaySeconds: 0 });
    const response = await postModern(stack.mcpUrl, {
      method: "tasks/get",
      name: UNKNOWN_ID,
      params: { taskId: task.taskId },
      headers: auth(ALICE_KEY),
    });
    expect(response.status).toBe(400);
    expect((await rpc(response)).error?.code).toBe(-32020);
  });

  it("tasks/* from a client that does not declare the extension answer -32021", async () => {
    const task = await startTask({ query: "undeclared", delaySeconds: 0 });
    const response = await postModern(stack.mcpUrl, {
      method: "tasks/get",
      name: task.taskId,
      params: { taskId: task.taskId },
      headers: auth(ALICE_KEY),
      tasks: false,
    });
    expect(response.status).toBe(400);
    expect((await rpc(response)).error?.code).toBe(-32021);
  });
});
