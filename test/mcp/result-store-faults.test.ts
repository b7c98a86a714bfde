import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../local/local-stack.js";
import { callForJob, callTool, connectClient, startTestStack } from "../support/mcp-stack.js";

let stack: LocalStack;
let client: Client;

/** PutObject calls the injected fault has refused so far, and how many more it refuses. */
const fault = { refused: 0, remaining: 0 };
const FAULT_NAME = "injectPutObjectFailure";

beforeAll(async () => {
  // Default settings: no presigned links, the inline bound of 16 000 bytes.
  // The worker writes results through its own clients. The fault sits before the SDK's own
  // retries, so each refused write reaches the worker as one failed attempt.
  stack = await startTestStack({
    configureClients: (clients, fn) => {
      if (fn !== "worker") return;
      clients.s3.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === "PutObjectCommand" && fault.remaining > 0) {
            fault.remaining--;
            fault.refused++;
            throw Object.assign(new Error("injected: S3 is unavailable"), { name: "ServiceUnavailable" });
          }
          return next(args);
        },
        { step: "initialize", name: FAULT_NAME },
      );
    },
  });
  client = await connectClient(stack.mcpUrl);
});

afterEach(() => {
  fault.remaining = 0;
  fault.refused = 0;
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

/** Polls get_job until the job ends, recording every view on the way. */
async function watch(jobId: string): Promise<Array<Record<string, unknown>>> {
  const views: Array<Record<string, unknown>> = [];
  for (let i = 0; i < 200; i++) {
    const view = await callForJob(client, "get_job", { jobId, waitSeconds: 1 });
    views.push(view);
    if (!["queued", "running"].includes(view.status)) return views;
  }
  throw new Error(`job ${jobId} did not end`);
}

describe("a failed result write", () => {
  it("is retried like any transient failure, and the job completes only once its result is stored", async () => {
    fault.remaining = 2;
    const started = await callForJob(client, "start_export_api", {
      query: "retry",
      rows: 2_000,
      delaySeconds: 0,
    });
    const views = await watch(started.jobId);
    expect(fault.refused).toBe(2);
    const last = views.at(-1);
    expect(last).toMatchObject({ status: "completed", resultStored: "s3", attempt: 3 });
    // While writes failed the job was never shown completed; a retry pending shows why.
    for (const view of views.slice(0, -1)) expect(view.status).not.toBe("completed");
    const page = await callTool(client, "read_job_result", { jobId: started.jobId, maxBytes: 100 });
    expect(page.isError).toBe(false);
    const rows = Array.from({ length: 2_000 }, (_, n) => ({ n: n + 1, text: `retry #${n + 1}` }));
    expect(page.structured?.text).toBe(JSON.stringify({ rows }).slice(0, 100));
    // Locally off by default: no presigned link.
    expect(last).not.toHaveProperty("resultUrl");
  });

  it("that never succeeds fails the job (retryable) after its attempts, never completed without a result", async () => {
    fault.remaining = 100;
    const started = await callForJob(client, "start_export_api", {
      query: "down",
      rows: 2_000,
      delaySeconds: 0,
    });
    const views = await watch(started.jobId);
    expect(views.every((view) => view.status !== "completed")).toBe(true);
    expect(views.at(-1)).toMatchObject({
      status: "failed",
      attempt: 3,
      error: { code: "result_store_unavailable", retryable: true },
    });
    expect(fault.refused).toBe(3);
    const read = await callTool(client, "read_job_result", { jobId: started.jobId });
    expect(read.isError).toBe(true);
    expect(read.text).toMatch(/no result/);
  });

  it("does not touch a small result: it stays in the row without any write to S3", async () => {
    fault.remaining = 100;
    const started = await callForJob(client, "start_export_api", { query: "tiny", rows: 2, delaySeconds: 0 });
    const done = await callForJob(client, "get_job", { jobId: started.jobId, waitSeconds: 20 });
    expect(done).toMatchObject({ status: "completed", attempt: 1 });
    expect(done.result).toEqual({
      rows: [
        { n: 1, text: "tiny #1" },
        { n: 2, text: "tiny #2" },
      ],
    });
    expect(fault.refused).toBe(0);
  });
});
