import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CreateTaskResultSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { PortWrappers } from "../../lambdas/shared/app/ports.js";
import type { JobQueue, NewJob } from "../../lambdas/shared/domain/ports.js";
import { UNRECORDED_JOB_ID_META_KEY } from "../../lambdas/shared/mcp/tool-schemas.js";
import type { LocalStack } from "../../local/local-stack.js";
import {
  callForJob,
  callTool,
  connectClient,
  startTestStack,
  type ToolAnswer,
} from "../support/mcp-stack.js";
import { expectNothingCreated, quiescent, rowsAndMessages } from "../support/nothing-created.js";

const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

let stack: LocalStack;
let client: Client;

beforeAll(async () => {
  stack = await startTestStack();
  client = await connectClient(stack.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

describe("tools/list", () => {
  it("lists every tool with its input and output schema, title and hints", async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    expect([...byName.keys()].sort()).toEqual(
      [
        "cancel_job",
        "get_job",
        "job_stats",
        "list_jobs",
        "read_job_result",
        "start_batch_api",
        "start_export_api",
        "start_failing_api",
        "start_flaky_api",
        "start_hung_api",
        "start_slow_api",
      ].sort(),
    );
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe("object");
      expect(tool.outputSchema?.type).toBe("object");
      expect(tool.annotations?.title).toBeTruthy();
      expect(tool.description).toBeTruthy();
    }
    expect(byName.get("get_job")?.annotations?.readOnlyHint).toBe(true);
    expect(byName.get("list_jobs")?.annotations?.readOnlyHint).toBe(true);
    expect(byName.get("cancel_job")?.annotations?.idempotentHint).toBe(true);
    expect(byName.get("start_slow_api")?.inputSchema.properties).toHaveProperty("waitSeconds");
    expect(byName.get("start_slow_api")?.inputSchema.properties).toHaveProperty("idempotencyKey");
    expect(byName.get("start_slow_api")?.description).toMatch(/at once/);
    expect(byName.get("get_job")?.description).toMatch(/waitSeconds/);
  });
});

describe("the async handle pattern end to end", () => {
  it("start_slow_api answers while the job is still open, and get_job with waitSeconds returns the result", async () => {
    const started = await callForJob(client, "start_slow_api", {
      query: "weather in Paris",
      delaySeconds: 3,
    });
    // Answered before the 3 s job could end: the handle, not the result.
    expect(["queued", "running"]).toContain(started.status);
    expect(started).not.toHaveProperty("result");
    expect(started.pollAfterSeconds).toBeGreaterThan(0);
    expect(Date.parse(started.expiresAt)).toBeGreaterThan(Date.now() + 23 * 3600_000);

    const done = await callForJob(client, "get_job", { jobId: started.jobId, waitSeconds: 20 });
    expect(done.status).toBe("completed");
    expect(done.result).toEqual({ answer: "Slow result for: weather in Paris" });
    expect(done.progress?.current).toBe(3);
    expect(done.pollAfterSeconds).toBeUndefined();
  });

  it("the text block carries the same JSON as structuredContent", async () => {
    const answer = await callTool(client, "start_slow_api", { query: "text", delaySeconds: 0 });
    expect(JSON.parse(answer.text)).toEqual(answer.structured);
  });

  it("start_slow_api with waitSeconds on a 1 s job answers completed in one call", async () => {
    const job = await callForJob(client, "start_slow_api", {
      query: "quick",
      delaySeconds: 1,
      waitSeconds: 10,
    });
    expect(job.status).toBe("completed");
    expect(job.result).toEqual({ answer: "Slow result for: quick" });
  });

  it("start_failing_api ends failed with a code and retryable false", async () => {
    const started = await callForJob(client, "start_failing_api", { query: "q", delaySeconds: 0 });
    const done = await callForJob(client, "get_job", { jobId: started.jobId, waitSeconds: 15 });
    expect(done.status).toBe("failed");
    expect(done.error).toEqual({
      code: "external_api_failed_dependency",
      message: "424 Failed Dependency: external service unavailable",
      retryable: false,
    });
  });

  it("start_flaky_api completes after its transient failures", async () => {
    const started = await callForJob(client, "start_flaky_api", { query: "q", failTimes: 2 });
    const done = await callForJob(client, "get_job", { jobId: started.jobId, waitSeconds: 20 });
    expect(done.status).toBe("completed");
    expect(done.attempt).toBe(3);
  });

  it("cancel_job on a running job ends it cancelled, and it stays cancelled", async () => {
    const started = await callForJob(client, "start_slow_api", { query: "long", delaySeconds: 60 });
    await vi.waitFor(
      async () =>
        expect((await callForJob(client, "get_job", { jobId: started.jobId })).status).toBe("running"),
      { timeout: 30_000, interval: 100 },
    );
    const cancelled = await callForJob(client, "cancel_job", { jobId: started.jobId });
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.error?.code).toBe("cancelled");
    // Once the worker has stopped the run and let go of its message, nothing can change the job.
    await quiescent(stack);
    expect(await callForJob(client, "get_job", { jobId: started.jobId })).toEqual(cancelled);
    // Cancelling an ended job changes nothing and says so.
    expect((await callForJob(client, "cancel_job", { jobId: started.jobId })).status).toBe("cancelled");
  });

  it("list_jobs pages through the caller's jobs with its cursor, newest first", async () => {
    const own = await connectClient(stack.mcpUrl);
    try {
      const before = await callTool(own, "list_jobs", { limit: 100 });
      const total = (before.structured as { jobs: unknown[] }).jobs.length;
      const ids: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = (await callTool(own, "list_jobs", { limit: 2, ...(cursor ? { cursor } : {}) }))
          .structured as {
          jobs: { jobId: string; createdAt: string; result?: unknown }[];
          nextCursor?: string;
        };
        expect(page.jobs.length).toBeLessThanOrEqual(2);
        for (const job of page.jobs) expect(job).not.toHaveProperty("result");
        ids.push(...page.jobs.map((job) => job.jobId));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 100);
      expect(total).toBeGreaterThanOrEqual(5);
      expect(ids).toHaveLength(total);
      expect(new Set(ids).size).toBe(total);
      const created = (before.structured as { jobs: { createdAt: string }[] }).jobs.map(
        (job) => job.createdAt,
      );
      expect(created).toEqual([...created].sort().reverse());
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(total / 2));
      const completed = (await callTool(own, "list_jobs", { status: "completed", limit: 100 }))
        .structured as {
        jobs: { status: string }[];
      };
      expect(completed.jobs.length).toBeGreaterThan(0);
      expect(completed.jobs.every((job) => job.status === "completed")).toBe(true);
    } finally {
      await own.close();
    }
  });
});

describe("bad input gets a clear error and creates nothing", () => {
  it("an unknown job id answers that the job was not found or has expired", async () => {
    const answer = await callTool(client, "get_job", { jobId: UNKNOWN_ID });
    expect(answer.isError).toBe(true);
    expect(answer.text).toBe(`Job ${UNKNOWN_ID} was not found or has expired.`);
    const cancel = await callTool(client, "cancel_job", { jobId: UNKNOWN_ID });
    expect(cancel.text).toBe(answer.text);
  });

  it.each([
    ["start_slow_api", { query: "" }, "query"],
    ["start_slow_api", { query: "x".repeat(10_001) }, "query"],
    ["start_slow_api", { query: 42 }, "query"],
    ["start_slow_api", {}, "query"],
    ["start_slow_api", { query: "q", delaySeconds: 601 }, "delaySeconds"],
    ["start_slow_api", { query: "q", delaySeconds: 1.5 }, "delaySeconds"],
    ["start_slow_api", { query: "q", waitSeconds: 26 }, "waitSeconds"],
    ["start_slow_api", { query: "q", idempotencyKey: "has spaces" }, "idempotencyKey"],
    ["start_flaky_api", { query: "q", failTimes: 11 }, "failTimes"],
    ["get_job", { jobId: "not-a-job-id" }, "jobId"],
    ["get_job", { jobId: UNKNOWN_ID, waitSeconds: -1 }, "waitSeconds"],
    ["cancel_job", {}, "jobId"],
    ["list_jobs", { limit: 0 }, "limit"],
    ["list_jobs", { status: "done" }, "status"],
  ])("%s with %j names %s", async (tool, args, field) => {
    const answer = await expectNothingCreated(stack, () => callTool(client, tool, args));
    expect(answer.isError).toBe(true);
    expect(answer.text).toContain(field);
  });

  it("a cursor that was not issued by list_jobs is refused", async () => {
    const answer = await callTool(client, "list_jobs", { cursor: "bm90LWEtY3Vyc29y" });
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/cursor is not valid/);
  });

  it("unknown argument keys are ignored (agent frameworks add their own)", async () => {
    const job = await callForJob(client, "start_slow_api", {
      query: "q",
      delaySeconds: 0,
      _meta: { traceparent: "00-abc" },
      extra: true,
    });
    expect(job.status).toBe("queued");
  });
});

describe("idempotencyKey", () => {
  it("returns the same job for the same key and input, and refuses the key with other input", async () => {
    const first = await callForJob(client, "start_slow_api", {
      query: "same",
      delaySeconds: 0,
      idempotencyKey: "k-1",
    });
    const { rows, messages } = await rowsAndMessages(stack);
    const again = await callForJob(client, "start_slow_api", {
      query: "same",
      delaySeconds: 0,
      idempotencyKey: "k-1",
    });
    expect(again.jobId).toBe(first.jobId);
    const other = await callTool(client, "start_slow_api", {
      query: "other",
      delaySeconds: 0,
      idempotencyKey: "k-1",
    });
    expect(other.isError).toBe(true);
    expect(other.text).toMatch(/idempotencyKey "k-1" was already used with different input/);
    const after = await rowsAndMessages(stack);
    expect(after.rows).toBe(rows);
    expect(after.messages).toBeLessThanOrEqual(messages);
  });
});

describe("a failed enqueue", () => {
  it("answers a retryable error and leaves no row and no message", async () => {
    const broken = await startTestStack({
      wrap: {
        mcp: {
          queue: (): JobQueue => ({
            send: () => Promise.reject(new Error("SQS is unavailable")),
          }),
        },
      },
    });
    const brokenClient = await connectClient(broken.mcpUrl);
    try {
      const answer = await expectNothingCreated(broken, () =>
        callTool(brokenClient, "start_slow_api", { query: "q", idempotencyKey: "retry-me" }),
      );
      expect(answer.isError).toBe(true);
      expect(answer.text).toMatch(/could not be queued.*nothing was started\. Try again/);
      const listed = await callTool(brokenClient, "list_jobs", {});
      expect(listed.structured).toEqual({ jobs: [] });
    } finally {
      await brokenClient.close();
      await broken.stop();
    }
  });
});

/** A store whose create takes effect (or not) and then times out at the client, as a stalled DynamoDB does. */
function createTimesOut(lands: boolean): NonNullable<PortWrappers["store"]> {
  return (store) =>
    Object.assign(Object.create(store) as typeof store, {
      create: async (job: NewJob) => {
        if (lands) await store.create(job);
        throw Object.assign(new Error("timed out"), { name: "TimeoutError" });
      },
    });
}

/** The job id a start's error names, from its text and from its `_meta`. */
function namedJobId(answer: ToolAnswer): string {
  const fromText = /Job ([0-9a-f-]{36}) could not be recorded/.exec(answer.text)?.[1];
  expect(fromText).toBeDefined();
  expect(answer.meta?.[UNRECORDED_JOB_ID_META_KEY]).toBe(fromText);
  return fromText as string;
}

describe("a start whose row cannot be written", () => {
  it("answers a retryable error that names the job id it tried; the message brings that job to life", async () => {
    const broken = await startTestStack({ wrap: { mcp: { store: createTimesOut(false) } } });
    const brokenClient = await connectClient(broken.mcpUrl);
    try {
      const answer = await callTool(brokenClient, "start_slow_api", {
        query: "never landed",
        delaySeconds: 0,
        idempotencyKey: "k",
      });
      expect(answer.isError).toBe(true);
      const jobId = namedJobId(answer);
      expect(answer.text).toMatch(
        /may or may not exist.*get_job.*never created.*same idempotencyKey \("k"\)/,
      );

      // The start's own write never landed; the worker writes the row from the message and runs it.
      const found = await vi.waitFor(
        async () => {
          const job = await callForJob(brokenClient, "get_job", { jobId, waitSeconds: 5 });
          expect(job.status).toBe("completed");
          return job;
        },
        { timeout: 30_000, interval: 500 },
      );
      expect(found).toMatchObject({ jobId, result: { answer: "Slow result for: never landed" } });
      // A retry with the same key returns that job (the worker wrote its idempotency record too).
      const again = await callForJob(brokenClient, "start_slow_api", {
        query: "never landed",
        delaySeconds: 0,
        idempotencyKey: "k",
      });
      expect(again.jobId).toBe(jobId);
    } finally {
      await brokenClient.close();
      await broken.stop();
    }
  });

  it("when the write lands late, the named job is found and runs, and a retry with the same idempotencyKey returns it", async () => {
    const late = await startTestStack({ wrap: { mcp: { store: createTimesOut(true) } } });
    const lateClient = await connectClient(late.mcpUrl);
    try {
      const answer = await callTool(lateClient, "start_slow_api", {
        query: "late write",
        delaySeconds: 0,
        idempotencyKey: "late-1",
      });
      expect(answer.isError).toBe(true);
      const jobId = namedJobId(answer);

      const found = await callForJob(lateClient, "get_job", { jobId, waitSeconds: 10 });
      expect(found).toMatchObject({
        jobId,
        status: "completed",
        result: { answer: "Slow result for: late write" },
      });
      const retried = await callForJob(lateClient, "start_slow_api", {
        query: "late write",
        delaySeconds: 0,
        idempotencyKey: "late-1",
      });
      expect(retried.jobId).toBe(jobId);
      const listed = await callTool(lateClient, "list_jobs", {});
      expect(((listed.structured?.jobs ?? []) as { jobId: string }[]).map((job) => job.jobId)).toEqual([
        jobId,
      ]);

      // Without a key the error still names the job, so the caller can find it instead of starting a twin.
      const unkeyed = await callTool(lateClient, "start_slow_api", { query: "no key", delaySeconds: 0 });
      const unkeyedId = namedJobId(unkeyed);
      expect(unkeyed.text).toMatch(/check with get_job, or start again with an idempotencyKey/);
      expect(await callForJob(lateClient, "get_job", { jobId: unkeyedId, waitSeconds: 10 })).toMatchObject({
        jobId: unkeyedId,
        status: "completed",
      });
    } finally {
      await lateClient.close();
      await late.stop();
    }
  });

  it("a task-augmented start (2025-11-25 Tasks) answers an error that names the job id, and the task is found by it", async () => {
    const late = await startTestStack({ wrap: { mcp: { store: createTimesOut(true) } } });
    const lateClient = await connectClient(late.mcpUrl);
    try {
      const failure = await lateClient
        .request(
          {
            method: "tools/call",
            params: { name: "start_slow_api", arguments: { query: "task", delaySeconds: 0 } },
          },
          CreateTaskResultSchema,
          { task: { ttl: 60_000 } },
        )
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(failure).toBeInstanceOf(McpError);
      const error = failure as McpError;
      const jobId = (error.data as { jobId?: string } | undefined)?.jobId;
      expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
      expect(error.data).toEqual({ jobId, taskId: jobId });
      expect(error.message).toContain(`Job ${jobId} could not be recorded`);
      const task = await lateClient.experimental.tasks.getTask(jobId as string);
      expect(task.taskId).toBe(jobId);
    } finally {
      await lateClient.close();
      await late.stop();
    }
  });
});
