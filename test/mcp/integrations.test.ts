import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobMessage } from "../../lambdas/shared/domain/job.js";
import type { Log, LogFields } from "../../lambdas/shared/domain/logger.js";
import { EXAMPLES_FILE, EXAMPLES_OPENAPI_FILE } from "../../local/examples.js";
import { EXAMPLES_API_DEFAULT_ORIGIN, type ExamplesApi, startExamplesApi } from "../../local/examples-api.js";
import type { LocalStack } from "../../local/local-stack.js";
import { type HttpFixture, json, startHttpFixture } from "../support/http-fixture.js";
import { callForJob, callTool, connectClient, startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated } from "../support/nothing-created.js";

const SECRET = "sk-test-0a1b2c3d4e5f6a7b";

/** Every log line, as text, so a secret anywhere in one (message, fields, error) is found. */
const logLines: string[] = [];
const recordingLog: Log = {
  info: (message, fields) => logLines.push(line(message, fields)),
  warn: (message, fields) => logLines.push(line(message, fields)),
  error: (message, fields) => logLines.push(line(message, fields)),
};
function line(message: string, fields: LogFields): string {
  return `${message} ${JSON.stringify(fields, (_key, value: unknown) =>
    value instanceof Error ? `${value.name}: ${value.message} ${value.stack} ${String(value.cause)}` : value,
  )}`;
}

const sentMessages: JobMessage[] = [];
let examplesApi: ExamplesApi;
let echo: HttpFixture;
let dir: string;
let stack: LocalStack;
let client: Client;

beforeAll(async () => {
  examplesApi = await startExamplesApi({ port: 0, summaryDelaySeconds: 0.2 });
  echo = await startHttpFixture((request, response) => {
    // Echoes the credential back, as a careless API might: in a success body and in an error body.
    const status = request.target.startsWith("/fail") ? 400 : 200;
    json(response, status, { seen: request.headers.authorization });
  });
  dir = mkdtempSync(join(tmpdir(), "integrations-test-"));
  const examples = JSON.parse(
    readFileSync(EXAMPLES_FILE, "utf8").replaceAll(EXAMPLES_API_DEFAULT_ORIGIN, examplesApi.origin),
  ) as { integrations: unknown[] };
  const echoIntegration = (name: string, path: string): unknown => ({
    name,
    description: "Calls an API that echoes its credential.",
    input: { type: "object", properties: { note: { type: "string" } } },
    request: {
      url: `${echo.origin}${path}`,
      headers: { authorization: "Bearer {{secrets.ECHO_KEY}}" },
    },
    maxAttempts: 1,
  });
  examples.integrations.push(echoIntegration("echo_ok", "/ok"), echoIntegration("echo_fail", "/fail"));
  const file = join(dir, "integrations.json");
  writeFileSync(file, JSON.stringify(examples));
  // The examples import an OpenAPI document that sits beside the file.
  writeFileSync(
    join(dir, "examples.openapi.yaml"),
    readFileSync(EXAMPLES_OPENAPI_FILE, "utf8").replaceAll(EXAMPLES_API_DEFAULT_ORIGIN, examplesApi.origin),
  );
  stack = await startTestStack({
    log: recordingLog,
    env: { INTEGRATIONS_FILE: file, INTEGRATIONS_ALLOW_LOOPBACK: "true", SECRET_ECHO_KEY: SECRET },
    wrap: {
      mcp: {
        queue: (queue) => ({
          send: async (message) => {
            sentMessages.push(message);
            await queue.send(message);
          },
        }),
      },
    },
  });
  client = await connectClient(stack.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
  await examplesApi?.close();
  await echo?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function finished(jobId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 8; i++) {
    const answer = await callTool(client, "get_job", { jobId, waitSeconds: 10 });
    const status = answer.structured?.status;
    if (status === "completed" || status === "failed" || status === "cancelled") {
      return answer.structured as Record<string, unknown>;
    }
  }
  throw new Error(`job ${jobId} did not end`);
}

describe("integrations through the MCP endpoint", () => {
  it("lists one start_<name> tool per integration with its declared input and the async contract", async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    for (const name of ["start_summarize_text", "start_render_report", "start_create_invoice"]) {
      expect(byName.has(name)).toBe(true);
    }
    const report = byName.get("start_render_report");
    expect(report?.title ?? report?.annotations?.title).toBe("Start: Render a report");
    expect(report?.description).toMatch(
      /^Renders one customer's sales report .*Returns at once with a jobId/,
    );
    expect(report?.inputSchema.required).toEqual(["customerId"]);
    expect(report?.inputSchema.properties?.customerId).toMatchObject({
      type: "string",
      pattern: "^[A-Za-z0-9-]{1,64}$",
    });
    expect(report?.inputSchema.properties?.durationSeconds).toMatchObject({ type: "integer", maximum: 600 });
    expect(report?.inputSchema.properties).toHaveProperty("waitSeconds");
  });

  it("a sync integration completes with the API's answer", async () => {
    const started = await callForJob(client, "start_summarize_text", { text: "one two three" });
    const job = await finished(started.jobId);
    expect(job).toMatchObject({
      status: "completed",
      type: "summarize_text",
      result: { summary: "one two three", words: 3 },
    });
  });

  it("a failing integration ends failed with the status in the error", async () => {
    const started = await callForJob(client, "start_create_invoice", { customerId: "c-42" });
    const job = await finished(started.jobId);
    expect(job).toMatchObject({
      status: "failed",
      error: {
        code: "http_422",
        message: 'create_invoice answered HTTP 422: {"error":"invoice service rejected customer c-42"}',
        retryable: false,
      },
    });
  });

  it("input that breaks the declared schema is refused and creates nothing", async () => {
    const answer = await expectNothingCreated(stack, () =>
      callTool(client, "start_render_report", { customerId: "../etc/passwd" }),
    );
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/customerId/);
    const missing = await expectNothingCreated(stack, () => callTool(client, "start_render_report", {}));
    expect(missing.isError).toBe(true);
  });

  it("a secret never reaches a row, a message, a log line, an error or a result", async () => {
    const ok = await finished((await callForJob(client, "start_echo_ok", {})).jobId);
    expect(ok).toMatchObject({ status: "completed", result: { seen: "Bearer [redacted]" } });
    const failed = await finished((await callForJob(client, "start_echo_fail", {})).jobId);
    expect(failed).toMatchObject({ status: "failed", error: { code: "http_400", retryable: false } });
    expect((failed.error as { message: string }).message).toBe(
      'echo_fail answered HTTP 400: {"seen":"Bearer [redacted]"}',
    );
    // The API did receive it: the secret was sent where declared, and only there.
    expect(echo.requests.map((request) => request.headers.authorization)).toEqual([
      `Bearer ${SECRET}`,
      `Bearer ${SECRET}`,
    ]);

    const listed = await callTool(client, "list_jobs", { limit: 100 });
    const rows = await stack.clients.dynamo.send(new ScanCommand({ TableName: stack.resources.tableName }));
    expect(rows.Items?.length).toBeGreaterThan(0);
    for (const text of [
      JSON.stringify(ok),
      JSON.stringify(failed),
      listed.text,
      JSON.stringify(rows.Items),
      JSON.stringify(sentMessages),
      ...logLines,
    ]) {
      expect(text).not.toContain(SECRET);
    }
    expect(sentMessages.length).toBeGreaterThan(0);
  });
});
