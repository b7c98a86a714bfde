import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJobsCli } from "../../cli/program.js";
import type { Log, LogFields } from "../../lambdas/shared/domain/logger.js";
import { JOB_TYPES } from "../../lambdas/shared/jobs/registry.js";
import type { LocalStack } from "../../local/local-stack.js";
import { type HttpFixture, json, type RecordedRequest, startHttpFixture } from "../support/http-fixture.js";
import { callForJob, callTool, connectClient, startTestStack } from "../support/mcp-stack.js";

/**
 * OpenAPI imports end to end: a real MCP client, the local stack and a loopback API written for
 * this test that speaks the long-running conventions (Operation-Location + Retry-After, AIP-151,
 * Location on a PUT), described by test/fixtures/openapi/lro.openapi.yaml.
 */

const DOCUMENT = fileURLToPath(new URL("../fixtures/openapi/lro.openapi.yaml", import.meta.url));
const SECRET = "sk-openapi-9f8e7d6c5b4a3210";
const PRIVATE_ORIGIN = "https://10.0.0.7:8443";

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

let api: HttpFixture;
let dir: string;
let file: string;
let stack: LocalStack;
let client: Client;
const answers: string[] = [];
/** When each request reached the API, by request target. */
const arrivals = new Map<string, number[]>();
/** The Retry-After date each "date" job was told, by operation id. */
const retryDates = new Map<string, number>();
const counts = new Map<string, number>();
let sequence = 0;

function nth(key: string): number {
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  return n;
}

function route(request: RecordedRequest, response: Parameters<typeof json>[0]): void {
  const url = new URL(request.target, api.origin);
  const path = url.pathname;
  const times = arrivals.get(`${request.method} ${path}`) ?? [];
  times.push(Date.now());
  arrivals.set(`${request.method} ${path}`, times);
  if (request.headers["x-api-key"] !== SECRET) {
    json(response, 401, { error: "no key" });
    return;
  }
  const key = String(request.headers["x-api-key"]);
  /** The path's first capture when the method and path match. */
  const on = (method: string, pattern: RegExp): string | undefined =>
    method === "*" || request.method === method ? pattern.exec(path)?.[1] : undefined;
  let match: string | undefined;
  match = on("GET", /^\/v1\/greetings\/([^/]+)$/);
  if (match !== undefined) {
    // A careless API echoes the credential: the result must not carry it.
    json(response, 200, {
      greeting: `Hello ${decodeURIComponent(match)}`,
      lang: url.searchParams.get("lang"),
      echo: key,
    });
    return;
  }
  if (request.method === "POST" && path === "/v1/reports") {
    const id = `rep-${++sequence}`;
    const customerId = (JSON.parse(request.body || "{}") as { customerId?: string }).customerId;
    reports.set(id, { id, customerId, rows: 3 });
    json(
      response,
      202,
      { accepted: true },
      {
        "operation-location": `/v1/operations/${id}`,
        location: `/v1/reports/${id}`,
        "retry-after": "1",
      },
    );
    return;
  }
  match = on("GET", /^\/v1\/reports\/([^/]+)$/);
  if (match !== undefined) {
    json(response, 200, reports.get(match) ?? {});
    return;
  }
  match = on("POST", /^\/v1\/scenarios\/([a-z-]+)\/jobs$/);
  if (match !== undefined) {
    const scenario = match;
    const id = `${scenario}-${++sequence}`;
    const headers: Record<string, string> = {
      "operation-location":
        scenario === "foreign"
          ? `http://localhost:${api.port}/v1/operations/${id}`
          : scenario === "private"
            ? `${PRIVATE_ORIGIN}/v1/operations/${id}`
            : `/v1/operations/${id}`,
    };
    if (scenario === "date") {
      const at = (Math.floor(Date.now() / 1000) + 3) * 1000;
      retryDates.set(id, at);
      headers["retry-after"] = new Date(at).toUTCString();
    } else headers["retry-after"] = "1";
    json(response, 202, { accepted: true }, headers);
    return;
  }
  match = on("*", /^\/v1\/operations\/([^/]+)$/);
  if (match !== undefined) {
    const id = match;
    if (request.method === "DELETE") {
      response.writeHead(204).end();
      return;
    }
    if (id.startsWith("rep-")) {
      json(
        response,
        200,
        nth(path) < 2 ? { status: "Running", percentComplete: 50 } : { status: "Succeeded" },
        { "retry-after": "1" },
      );
      return;
    }
    if (id.startsWith("cancel-")) {
      json(response, 200, { status: "running" }, { "retry-after": "1" });
      return;
    }
    json(response, 200, { status: "succeeded", result: { scenario: id.replace(/-\d+$/, ""), ok: true } });
    return;
  }
  if (request.method === "POST" && path === "/v1/exports") {
    const id = `exp-${++sequence}`;
    const asked = JSON.parse(request.body || "{}") as { fail?: boolean; hang?: boolean };
    failing.set(id, asked.fail === true);
    if (asked.hang) hanging.add(id);
    json(
      response,
      200,
      { name: `longops/${id}`, done: false, metadata: { progressPercent: 0 } },
      { "retry-after": "1" },
    );
    return;
  }
  match = on("GET", /^\/v1\/longops\/([^/:]+)$/);
  if (match !== undefined) {
    const id = match;
    const name = `longops/${id}`;
    if (nth(path) < 2 || hanging.has(id)) {
      json(response, 200, { name, done: false, metadata: { progressPercent: 40 } }, { "retry-after": "1" });
    } else if (failing.get(id)) {
      json(response, 200, { name, done: true, error: { code: 9, message: "The export source is locked" } });
    } else {
      json(response, 200, { name, done: true, response: { exported: 12, file: `${id}.csv` } });
    }
    return;
  }
  match = on("POST", /^\/v1\/longops\/([^/:]+):cancel$/);
  if (match !== undefined) {
    json(response, 200, {});
    return;
  }
  match = on("PUT", /^\/v1\/widgets\/([^/]+)$/);
  if (match !== undefined) {
    const id = match;
    widgets.set(id, { id, ...(JSON.parse(request.body || "{}") as object) });
    json(response, 202, {}, { location: `/v1/widget-ops/${id}`, "retry-after": "1" });
    return;
  }
  match = on("GET", /^\/v1\/widget-ops\/([^/]+)$/);
  if (match !== undefined) {
    if (nth(path) < 2) json(response, 202, { status: "working" }, { "retry-after": "1" });
    else json(response, 200, { status: "done" });
    return;
  }
  match = on("GET", /^\/v1\/widgets\/([^/]+)$/);
  if (match !== undefined) {
    json(response, 200, widgets.get(match) ?? {});
    return;
  }
  json(response, 404, { error: "not found" });
}

const reports = new Map<string, unknown>();
const widgets = new Map<string, unknown>();
const failing = new Map<string, boolean>();
const hanging = new Set<string>();

beforeAll(async () => {
  api = await startHttpFixture(route);
  dir = mkdtempSync(join(tmpdir(), "integrations-openapi-"));
  file = join(dir, "integrations.json");
  const common = { openapi: DOCUMENT, baseUrl: `${api.origin}/v1`, secrets: { ApiKeyAuth: "TEST_API_KEY" } };
  writeFileSync(
    file,
    JSON.stringify({
      integrations: [
        {
          ...common,
          operations: ["getGreeting", "createReport", "runExport", "putWidget"],
          tags: ["reports"],
          overrides: {
            startScenario: { name: "scenario", poll: { everySeconds: 1 } },
            runExport: { poll: { everySeconds: 1 } },
          },
        },
        {
          ...common,
          operations: ["startScenario"],
          allowedOrigins: [`http://localhost:${api.port}`, PRIVATE_ORIGIN],
          overrides: { startScenario: { name: "scenario_trusting", poll: { everySeconds: 1 } } },
        },
      ],
    }),
  );
  stack = await startTestStack({
    log: recordingLog,
    env: { INTEGRATIONS_FILE: file, INTEGRATIONS_ALLOW_LOOPBACK: "true", SECRET_TEST_API_KEY: SECRET },
  });
  client = await connectClient(stack.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function run(tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { jobId } = await callForJob(client, tool, args);
  return finished(jobId);
}

async function finished(jobId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 12; i++) {
    const answer = await callTool(client, "get_job", { jobId, waitSeconds: 10 });
    answers.push(answer.text);
    const status = answer.structured?.status;
    if (status === "completed" || status === "failed" || status === "cancelled") {
      return answer.structured as Record<string, unknown>;
    }
  }
  throw new Error(`job ${jobId} did not end`);
}

function requests(method: string, pathPattern: RegExp): RecordedRequest[] {
  return api.requests.filter(
    (request) => request.method === method && pathPattern.test(new URL(request.target, api.origin).pathname),
  );
}

async function until(ready: () => boolean, seconds = 60): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!ready()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Runs `jobs <args>` in this process; answers its exit code and what it printed. */
async function jobsCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const collect = (): { stream: PassThrough; text: () => string } => {
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    return { stream, text: () => text };
  };
  const stdout = collect();
  const stderr = collect();
  const code = await runJobsCli(["node", "jobs", ...args], {
    stdout: stdout.stream,
    stderr: stderr.stream as unknown as NodeJS.WriteStream,
    env: {},
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe("jobs integrations list", () => {
  it("prints exactly the start_ tools the server lists for the same file", async () => {
    const run = await jobsCli(["integrations", "list", "--file", file, "--json"]);
    const builtIn = JOB_TYPES.map((type) => `start_${type.name}`);
    expect(run.code, run.stderr).toBe(0);
    const previews = JSON.parse(run.stdout) as Array<{ tool: string; mode: string; polls?: string }>;
    const { tools } = await client.listTools();
    expect(previews.map((preview) => preview.tool).sort()).toEqual(
      tools
        .map((tool) => tool.name)
        .filter((name) => name.startsWith("start_") && !builtIn.includes(name))
        .sort(),
    );
    expect(previews.find((preview) => preview.tool === "start_create_report")).toMatchObject({
      mode: "long-running",
      polls: "the Operation-Location URL; final result via location",
    });
    expect(previews.find((preview) => preview.tool === "start_get_greeting")).toMatchObject({ mode: "sync" });
    const text = await jobsCli(["integrations", "list", "--file", file]);
    expect(text.stdout).toContain("start_run_export  [long-running]  from operation runExport");
  });

  it("a file it cannot load: one line on stderr, exit 3, nothing on stdout", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({ integrations: [{ openapi: DOCUMENT, operations: ["noSuchOperation"] }] }),
    );
    const run = await jobsCli(["integrations", "list", "--file", bad]);
    expect(run).toMatchObject({ code: 3, stdout: "" });
    expect(run.stderr).toMatch(
      /^jobs: Integrations file .*bad\.json: OpenAPI import .*: operation "noSuchOperation" is not in/,
    );
    expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe.concurrent("OpenAPI operations through the MCP endpoint", () => {
  it("lists one start_ tool per imported operation, with the document's inputs", async () => {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "start_get_greeting",
        "start_create_report",
        "start_run_export",
        "start_put_widget",
        "start_scenario",
        "start_scenario_trusting",
      ]),
    );
    const greeting = tools.find((tool) => tool.name === "start_get_greeting");
    expect(greeting?.description).toContain("Greets someone");
    // The API key header is filled from the secret, so it is no input.
    const inputs = Object.keys(greeting?.inputSchema.properties ?? {});
    expect(inputs).toEqual(expect.arrayContaining(["lang", "name"]));
    expect(inputs.map((input) => input.toLowerCase())).not.toContain("x-api-key");
    expect(greeting?.inputSchema.required).toEqual(["name"]);
  });

  it("a sync operation completes with the response, the key sent and never shown", async () => {
    const job = await run("start_get_greeting", { name: "Ada Lovelace", lang: "fr" });
    expect(job).toMatchObject({
      status: "completed",
      result: { greeting: "Hello Ada Lovelace", lang: "fr", echo: "[redacted]" },
    });
    const [call] = requests("GET", /^\/v1\/greetings\//);
    expect(call?.target).toBe("/v1/greetings/Ada%20Lovelace?lang=fr");
    expect(call?.headers["x-api-key"]).toBe(SECRET);
  });

  it("Operation-Location with Retry-After: polled to Succeeded, then the final resource from Location", async () => {
    const job = await run("start_create_report", { body: { customerId: "acme-7" } });
    expect(job).toMatchObject({ status: "completed", result: { customerId: "acme-7", rows: 3 } });
    const id = (job.result as { id: string }).id;
    expect(requests("GET", new RegExp(`^/v1/operations/${id}$`))).toHaveLength(2);
    expect(requests("GET", new RegExp(`^/v1/reports/${id}$`))).toHaveLength(1);
    const [submit] = requests("POST", /^\/v1\/reports$/).filter((r) => r.body.includes("acme-7"));
    expect(JSON.parse(submit?.body ?? "{}")).toEqual({ customerId: "acme-7" });
  });

  it("AIP-151: polled at <base>/<name> until done, the result is its response", async () => {
    const job = await run("start_run_export", { body: {} });
    expect(job).toMatchObject({ status: "completed", result: { exported: 12 } });
    const file = (job.result as { file: string }).file;
    expect(requests("GET", new RegExp(`^/v1/longops/${file.replace(".csv", "")}$`))).toHaveLength(2);
  });

  it("AIP-151 that ends with an error: the job fails with the API's code and message", async () => {
    const job = await run("start_run_export", { body: { fail: true } });
    expect(job).toMatchObject({
      status: "failed",
      error: { code: "9", message: "The export source is locked", retryable: false },
    });
  });

  it("a Location-style PUT: 202 while running, then the resource from the request URL", async () => {
    const job = await run("start_put_widget", { widgetId: "w-42", body: { color: "teal" } });
    expect(job).toMatchObject({ status: "completed", result: { id: "w-42", color: "teal" } });
    expect(requests("GET", /^\/v1\/widget-ops\/w-42$/)).toHaveLength(2);
    expect(requests("GET", /^\/v1\/widgets\/w-42$/)).toHaveLength(1);
  });

  it("Retry-After as an HTTP date: the first check waits for that date, not the 1 s interval", async () => {
    const job = await run("start_scenario", { scenario: "date" });
    expect(job).toMatchObject({ status: "completed", result: { scenario: "date", ok: true } });
    const [id, at] = [...retryDates.entries()][0] as [string, number];
    const checked = arrivals.get(`GET /v1/operations/${id}`) ?? [];
    expect(checked).toHaveLength(1);
    expect(checked[0]).toBeGreaterThanOrEqual(at);
  });

  it("cancel_job calls the declared DELETE on the status resource once", async () => {
    const { jobId } = await callForJob(client, "start_scenario", { scenario: "cancel" });
    await until(() => requests("GET", /^\/v1\/operations\/cancel-/).length >= 1);
    const cancelled = await callTool(client, "cancel_job", { jobId });
    expect(cancelled.structured).toMatchObject({ status: "cancelled" });
    await until(() => requests("DELETE", /^\/v1\/operations\/cancel-/).length >= 1);
    // The row is terminal and records the one cancel call: no delivery can call it again.
    const rows = await stack.clients.dynamo.send(new ScanCommand({ TableName: stack.resources.tableName }));
    const row = rows.Items?.find((item) => JSON.stringify(item).includes(jobId));
    expect(row?.status?.S).toBe("cancelled");
    expect(row?.cancelCalledAt?.S).toBeDefined();
    expect(requests("DELETE", /^\/v1\/operations\/cancel-/)).toHaveLength(1);
  });

  it("cancel_job on an AIP-151 operation calls POST <base>/<name>:cancel once", async () => {
    const { jobId } = await callForJob(client, "start_run_export", { body: { hang: true } });
    await until(() => hanging.size > 0);
    const name = [...hanging][0] as string;
    await until(() => requests("GET", new RegExp(`^/v1/longops/${name}$`)).length >= 1);
    expect((await callTool(client, "cancel_job", { jobId })).structured).toMatchObject({
      status: "cancelled",
    });
    await until(() => requests("POST", new RegExp(`^/v1/longops/${name}:cancel$`)).length >= 1);
    const rows = await stack.clients.dynamo.send(new ScanCommand({ TableName: stack.resources.tableName }));
    const row = rows.Items?.find((item) => JSON.stringify(item).includes(jobId));
    expect(row?.status?.S).toBe("cancelled");
    expect(row?.cancelCalledAt?.S).toBeDefined();
    expect(requests("POST", new RegExp(`^/v1/longops/${name}:cancel$`))).toHaveLength(1);
  });

  it("a polling URL on another origin is refused, unless the entry's allowedOrigins lists it", async () => {
    const refused = await run("start_scenario", { scenario: "foreign" });
    expect(refused).toMatchObject({
      status: "failed",
      error: { code: "outbound_refused", retryable: false },
    });
    expect((refused.error as { message: string }).message).toContain("allowedOrigins");
    const allowed = await run("start_scenario_trusting", { scenario: "foreign" });
    expect(allowed).toMatchObject({ status: "completed", result: { scenario: "foreign", ok: true } });
  });

  it("a polling URL on a private address is refused, even on an allowed origin", async () => {
    const job = await run("start_scenario_trusting", { scenario: "private" });
    expect(job).toMatchObject({ status: "failed", error: { code: "outbound_refused", retryable: false } });
    expect((job.error as { message: string }).message).toMatch(/10\.0\.0\.7.*private/);
  });
});

describe("secrets", () => {
  it("never reach a row, a log line or an answer", async () => {
    await run("start_get_greeting", { name: "Grace" });
    const rows = await stack.clients.dynamo.send(new ScanCommand({ TableName: stack.resources.tableName }));
    expect(rows.Items?.length).toBeGreaterThan(0);
    const listed = await callTool(client, "list_jobs", { limit: 100 });
    for (const text of [JSON.stringify(rows.Items), listed.text, ...answers, ...logLines]) {
      expect(text).not.toContain(SECRET);
    }
    // It was sent: every request the API received carried it.
    expect(api.requests.every((request) => request.headers["x-api-key"] === SECRET)).toBe(true);
  });
});
