import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalIntegrations, prepareLocalIntegrations } from "../../local/examples.js";
import type { LocalStack } from "../../local/local-stack.js";
import { type HttpFixture, json, type RecordedRequest, startHttpFixture } from "../support/http-fixture.js";
import { callForJob, callTool, connectClient, startTestStack } from "../support/mcp-stack.js";
import { quiescent } from "../support/nothing-created.js";

/**
 * Poll-mode integrations end to end: a real MCP client, the local stack (DynamoDB Local, the SQS
 * emulator, the worker's delayed check messages) and a loopback API that answers 202 + Location.
 * Checks run every 5 s (the file's minimum), so each job takes a few checks; the tests run at once.
 */

const EVERY_SECONDS = 5;

/** How a status resource answers its nth GET (1-based), per scenario (the first path segment). */
const statusAnswers: Record<string, (n: number) => unknown> = {
  done: (n) =>
    n < 3
      ? { status: "running", percent: n * 30 }
      : { status: "succeeded", percent: 100, report: { orders: 42, revenue: 12.5 } },
  fails: () => ({ status: "failed", reason: "the renderer crashed" }),
  cancel: (n) => ({ status: "running", percent: Math.min(90, n * 10) }),
  late: () => ({ status: "running", percent: 1 }),
};

let api: HttpFixture;
let dir: string;
let stack: LocalStack;
let client: Client;
const gets = new Map<string, number>();

function pollIntegration(name: string, scenario: string, maxDurationSeconds = 600): unknown {
  return {
    name,
    description: `A 202 + Location API (${scenario}).`,
    input: { type: "object", properties: { customerId: { type: "string", minLength: 1 } } },
    request: {
      method: "POST",
      url: `${api.origin}/${scenario}/jobs`,
      headers: { "idempotency-key": "{{job.id}}" },
      body: { customerId: "{{input.customerId}}" },
    },
    poll: {
      url: "{{response.headers.location}}",
      everySeconds: EVERY_SECONDS,
      maxDurationSeconds,
      doneWhen: { path: "status", equals: "succeeded" },
      failedWhen: { path: "status", in: ["failed", "cancelled"] },
      progress: { path: "percent", total: 100 },
      cancel: { method: "DELETE", url: "{{response.headers.location}}" },
    },
    result: { path: "report" },
  };
}

beforeAll(async () => {
  api = await startHttpFixture((request, response) => {
    const [, scenario = "", , id] = request.target.split("/");
    if (request.method === "POST") {
      // A relative Location, resolved against the request URL; the job id keeps resources apart.
      const jobId = String(request.headers["idempotency-key"]);
      json(response, 202, { accepted: true }, { location: `/${scenario}/jobs/${jobId}` });
      return;
    }
    if (request.method === "DELETE") {
      response.writeHead(204).end();
      return;
    }
    const n = (gets.get(`${id}`) ?? 0) + 1;
    gets.set(`${id}`, n);
    json(response, 200, statusAnswers[scenario]?.(n) ?? { status: "unknown" });
  });
  dir = mkdtempSync(join(tmpdir(), "integrations-poll-"));
  const file = join(dir, "integrations.json");
  writeFileSync(
    file,
    JSON.stringify({
      integrations: [
        pollIntegration("poll_done", "done"),
        pollIntegration("poll_fails", "fails"),
        pollIntegration("poll_cancel", "cancel"),
        pollIntegration("poll_late", "late", 10),
      ],
    }),
  );
  stack = await startTestStack({ env: { INTEGRATIONS_FILE: file, INTEGRATIONS_ALLOW_LOOPBACK: "true" } });
  client = await connectClient(stack.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function finished(mcp: Client, jobId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 12; i++) {
    const answer = await callTool(mcp, "get_job", { jobId, waitSeconds: 10 });
    const status = answer.structured?.status;
    if (status === "completed" || status === "failed" || status === "cancelled") {
      return answer.structured as Record<string, unknown>;
    }
  }
  throw new Error(`job ${jobId} did not end`);
}

/** The requests the API received for one job's status resource, in order. */
function requestsFor(scenario: string, jobId: string): RecordedRequest[] {
  return api.requests.filter((request) => request.target === `/${scenario}/jobs/${jobId}`);
}

/** Waits (generously, ending early) until `ready` holds. */
async function until(ready: () => boolean, seconds = 60): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ready()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.concurrent("poll-mode integrations through the MCP endpoint", () => {
  it("202 + Location, then checks every everySeconds with progress, then done with result.path", async () => {
    const { jobId } = await callForJob(client, "start_poll_done", { customerId: "c-1" });
    // After the first check the API said "running, 30%": get_job shows it, and the poll hint
    // follows the next check, which is at most everySeconds away.
    await until(() => requestsFor("done", jobId).length >= 1);
    // The worker writes the progress just after that GET; however late, it shows up.
    let view: Record<string, unknown> | undefined;
    for (const end = Date.now() + 60_000; view?.progress === undefined && Date.now() < end; ) {
      view = (await callTool(client, "get_job", { jobId })).structured as Record<string, unknown>;
      if (view.progress === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(view).toMatchObject({ status: "running", progress: { total: 100 } });
    expect([30, 60]).toContain((view?.progress as { current?: number } | undefined)?.current);
    expect(view?.pollAfterSeconds).toBeGreaterThanOrEqual(1);
    // Just after the next check (a second of slack), never a whole interval late.
    expect(view?.pollAfterSeconds).toBeLessThanOrEqual(EVERY_SECONDS + 1);

    const job = await finished(client, jobId);
    expect(job).toMatchObject({ status: "completed", result: { orders: 42, revenue: 12.5 } });
    const checks = requestsFor("done", jobId);
    expect(checks.map((request) => request.method)).toEqual(["GET", "GET", "GET"]);
    const submit = api.requests.find(
      (request) => request.target === "/done/jobs" && request.headers["idempotency-key"] === jobId,
    );
    expect(JSON.parse(submit?.body ?? "{}")).toEqual({ customerId: "c-1" });
  });

  it("202, then failedWhen holds: the job fails with the API's status", async () => {
    const { jobId } = await callForJob(client, "start_poll_fails", { customerId: "c-2" });
    const job = await finished(client, jobId);
    expect(job).toMatchObject({
      status: "failed",
      error: { code: "external_job_failed", retryable: false },
    });
    expect((job.error as { message: string }).message).toContain('status = "failed"');
    expect(requestsFor("fails", jobId).map((request) => request.method)).toEqual(["GET"]);
  });

  it("cancel_job mid-way: the declared cancel request arrives once and no check follows it", async () => {
    const { jobId } = await callForJob(client, "start_poll_cancel", { customerId: "c-3" });
    await until(() => requestsFor("cancel", jobId).length >= 1);
    const cancelled = await callTool(client, "cancel_job", { jobId });
    expect(cancelled.structured).toMatchObject({ status: "cancelled" });
    // The worker learns of the cancel at the next check (at most everySeconds later) and sends
    // DELETE instead of a check; then nothing more: once no message is left on the queues, no
    // check can follow.
    await until(() => requestsFor("cancel", jobId).some((request) => request.method === "DELETE"));
    await quiescent(stack);
    const methods = requestsFor("cancel", jobId).map((request) => request.method);
    expect(methods.filter((method) => method === "DELETE")).toHaveLength(1);
    expect(methods.at(-1)).toBe("DELETE");
    expect(methods.slice(0, -1).every((method) => method === "GET")).toBe(true);
    expect((await callTool(client, "get_job", { jobId })).structured).toMatchObject({ status: "cancelled" });
  });

  it("maxDurationSeconds passed: the job fails deadline_exceeded and the API is asked to stop", async () => {
    const { jobId } = await callForJob(client, "start_poll_late", { customerId: "c-4" });
    const job = await finished(client, jobId);
    expect(job).toMatchObject({ status: "failed", error: { code: "deadline_exceeded", retryable: false } });
    await until(() => requestsFor("late", jobId).some((request) => request.method === "DELETE"), 10);
    const methods = requestsFor("late", jobId).map((request) => request.method);
    expect(methods.filter((method) => method === "DELETE")).toHaveLength(1);
    expect(methods.at(-1)).toBe("DELETE");
  });
});

describe("the render_report example through npm start's wiring", () => {
  let examples: LocalIntegrations;
  let examplesStack: LocalStack;
  let examplesClient: Client;

  beforeAll(async () => {
    // What `npm start` does without INTEGRATIONS_FILE: the fake API (here on a free port, so the
    // file is copied with that origin) and integrations/examples.json, loopback allowed.
    examples = await prepareLocalIntegrations({ EXAMPLES_API_PORT: "0" });
    examplesStack = await startTestStack({ env: examples.env });
    examplesClient = await connectClient(examplesStack.mcpUrl);
  });

  afterAll(async () => {
    await examplesClient?.close();
    await examplesStack?.stop();
    await examples?.stop();
  });

  it("start_render_report completes with the report, after reporting percent", async () => {
    expect(examples.env.INTEGRATIONS_ALLOW_LOOPBACK).toBe("true");
    const { jobId } = await callForJob(examplesClient, "start_render_report", {
      customerId: "acme-1",
      durationSeconds: 7,
    });
    const seen: number[] = [];
    let job: Record<string, unknown> | undefined;
    for (let i = 0; i < 300 && !["completed", "failed", "cancelled"].includes(String(job?.status)); i++) {
      job = (await callTool(examplesClient, "get_job", { jobId })).structured as Record<string, unknown>;
      const current = (job.progress as { current?: number } | undefined)?.current;
      if (typeof current === "number" && current > 0 && job.status === "running") seen.push(current);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(job).toMatchObject({
      status: "completed",
      result: { customerId: "acme-1", orders: 42, revenue: 12_345.67 },
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((percent) => percent > 0 && percent < 100)).toBe(true);
  });

  it("the OpenAPI example: a quick operation, Operation-Location, AIP-151, and one that fails", async () => {
    const ended = async (tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const { jobId } = await callForJob(examplesClient, tool, args);
      for (let i = 0; i < 12; i++) {
        const job = (await callTool(examplesClient, "get_job", { jobId, waitSeconds: 10 })).structured;
        if (["completed", "failed", "cancelled"].includes(String(job?.status)))
          return job as Record<string, unknown>;
      }
      throw new Error(`${tool} did not end`);
    };
    const [quote, translation, exported, archive] = await Promise.all([
      ended("start_get_quote", { symbol: "ACME" }),
      ended("start_translate_text", { body: { text: "good morning", to: "fr", durationSeconds: 3 } }),
      ended("start_export_data", { body: { table: "orders", durationSeconds: 3 } }),
      ended("start_archive_mailbox", { body: { mailbox: "ops" } }),
    ]);
    expect(quote).toMatchObject({ status: "completed", result: { symbol: "ACME", currency: "USD" } });
    expect(translation).toMatchObject({
      status: "completed",
      result: { to: "fr", translation: "[fr] good morning", characters: 12 },
    });
    expect(exported).toMatchObject({
      status: "completed",
      result: { table: "orders", rows: 1000, file: "orders.csv" },
    });
    expect(archive).toMatchObject({
      status: "failed",
      error: {
        code: "MailboxLocked",
        message: "The mailbox is locked by a retention policy.",
        retryable: false,
      },
    });
  });
});
