import type { LookupAddress } from "node:dns";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ExternalApiError } from "../../lambdas/shared/domain/errors.js";
import type { Progress } from "../../lambdas/shared/domain/job.js";
import type { IntegrationRuntime } from "../../lambdas/shared/integrations/integration-job-type.js";
import { integrationJobTypes, parseIntegrationsFile } from "../../lambdas/shared/integrations/load.js";
import {
  isSubmitCheck,
  type JobType,
  type RunContext,
  type RunJobType,
  type SubmitCheckJobType,
} from "../../lambdas/shared/jobs/job-type.js";
import { type HttpFixture, json, startHttpFixture } from "../support/http-fixture.js";

const SECRET = "sk-live-7f3a9c1e55d2";
const JOB_ID = "3b241101-e2bb-4255-8caf-4136c566a962";

let api: HttpFixture;
beforeAll(async () => {
  api = await startHttpFixture();
});
afterAll(() => api.close());
beforeEach(() => {
  api.requests.length = 0;
});

function context(progress: Progress[] = []): RunContext {
  return {
    jobId: JOB_ID,
    attempt: 1,
    signal: new AbortController().signal,
    progress: async (value) => {
      progress.push(value);
    },
  };
}

const runtime = (overrides: Partial<IntegrationRuntime> = {}): IntegrationRuntime => ({
  allowLoopback: true,
  secrets: async () => ({ API_KEY: SECRET }),
  ...overrides,
});

/** Builds one integration's job type from a file entry, through the same loader the server uses. */
function build(entry: Record<string, unknown>, options: Partial<IntegrationRuntime> = {}): JobType {
  const file = JSON.stringify({ integrations: [{ description: "A test API.", input: INPUT, ...entry }] });
  const [type] = integrationJobTypes(parseIntegrationsFile(file, "test.json"), runtime(options));
  return type as JobType;
}

const INPUT = {
  type: "object",
  properties: { id: { type: "string", minLength: 1 }, year: { type: "integer" } },
  required: ["id"],
};

function sync(entry: Record<string, unknown> = {}, options: Partial<IntegrationRuntime> = {}): RunJobType {
  const type = build(
    {
      name: "lookup",
      request: {
        method: "POST",
        url: `${api.origin}/v1/items/{{input.id}}`,
        query: { year: "{{input.year}}" },
        headers: { authorization: "Bearer {{secrets.API_KEY}}", "idempotency-key": "{{job.id}}" },
        body: { id: "{{input.id}}", year: "{{input.year}}" },
        timeoutSeconds: 2,
      },
      ...entry,
    },
    options,
  );
  if (isSubmitCheck(type)) throw new Error("expected a run job type");
  return type;
}

function polled(entry: Record<string, unknown> = {}): SubmitCheckJobType {
  const type = build({
    name: "report",
    request: {
      method: "POST",
      url: `${api.origin}/v1/reports`,
      headers: { authorization: "Bearer {{secrets.API_KEY}}" },
      body: { id: "{{input.id}}" },
    },
    poll: {
      url: "{{response.headers.location}}",
      everySeconds: 5,
      maxDurationSeconds: 600,
      doneWhen: { path: "status", equals: "succeeded" },
      failedWhen: { path: "status", in: ["failed", "cancelled"] },
      progress: { path: "percent", total: 100 },
      cancel: { method: "DELETE", url: "{{response.headers.location}}" },
    },
    result: { path: "report" },
    ...entry,
  });
  if (!isSubmitCheck(type)) throw new Error("expected a submit/check job type");
  return type;
}

async function failure(work: Promise<unknown>): Promise<ExternalApiError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExternalApiError);
  return error as ExternalApiError;
}

describe("sync mode", () => {
  it("200: sends the declared request and returns result.path of the body", async () => {
    api.handle((_request, response) => json(response, 200, { data: { answer: 42 } }));
    const result = await sync({ result: { path: "data.answer" } }).run({ id: "a-1", year: 2024 }, context());
    expect(result).toBe(42);
    const [request] = api.requests;
    expect(request).toMatchObject({ method: "POST", target: "/v1/items/a-1?year=2024" });
    expect(JSON.parse(request?.body ?? "")).toEqual({ id: "a-1", year: 2024 });
    expect(request?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(request?.headers["idempotency-key"]).toBe(JOB_ID);
    expect(request?.headers["content-type"]).toBe("application/json");
  });

  it("leaves out a query entry and a body field whose input is absent; no result.path gives the whole body", async () => {
    api.handle((_request, response) =>
      response.writeHead(200, { "content-type": "text/plain" }).end("plain text"),
    );
    expect(await sync().run({ id: "b" }, context())).toBe("plain text");
    expect(api.requests[0]?.target).toBe("/v1/items/b");
    expect(JSON.parse(api.requests[0]?.body ?? "")).toEqual({ id: "b" });
  });

  it("4xx is permanent, with the status and a short body excerpt that holds no secret", async () => {
    api.handle((_request, response) =>
      json(response, 404, { error: `no item; you sent Bearer ${SECRET}`, padding: "x".repeat(500) }),
    );
    const error = await failure(sync().run({ id: "gone" }, context()));
    expect(error.retryable).toBe(false);
    expect(error.code).toBe("http_404");
    expect(error.message).toMatch(
      /^lookup answered HTTP 404: \{"error":"no item; you sent Bearer \[redacted\]"/,
    );
    expect(error.message.length).toBeLessThan(300);
    expect(JSON.stringify(error.toJobError())).not.toContain(SECRET);
  });

  it("429 with Retry-After is retryable and carries the delay", async () => {
    api.handle((_request, response) => json(response, 429, { error: "slow down" }, { "retry-after": "7" }));
    const error = await failure(sync().run({ id: "a" }, context()));
    expect(error).toMatchObject({ retryable: true, code: "http_429", retryAfterSeconds: 7 });
  });

  it("503 is retryable; the next attempt succeeds", async () => {
    let calls = 0;
    api.handle((_request, response) =>
      ++calls === 1 ? json(response, 503, {}) : json(response, 200, { ok: 1 }),
    );
    const type = sync();
    const error = await failure(type.run({ id: "a" }, context()));
    expect(error).toMatchObject({ retryable: true, code: "http_503" });
    expect(error.retryAfterSeconds).toBeUndefined();
    expect(await type.run({ id: "a" }, context())).toEqual({ ok: 1 });
  });

  it.each([408, 425, 500, 502])("%i is retryable", async (status) => {
    api.handle((_request, response) => json(response, status, {}));
    expect((await failure(sync().run({ id: "a" }, context()))).retryable).toBe(true);
  });

  it.each([400, 401, 403, 409, 422])("%i is permanent", async (status) => {
    api.handle((_request, response) => json(response, status, {}));
    expect((await failure(sync().run({ id: "a" }, context()))).retryable).toBe(false);
  });

  it("a request past timeoutSeconds is a retryable timeout", async () => {
    api.handle(() => undefined);
    const error = await failure(sync({}, {}).run({ id: "a" }, context()));
    expect(error).toMatchObject({ retryable: true, code: "timeout" });
    expect(error.message).toBe("lookup: No answer within 2 s.");
  });

  it("a redirect is refused, not followed", async () => {
    api.handle((_request, response) =>
      response.writeHead(307, { location: `${api.origin}/elsewhere` }).end(),
    );
    const error = await failure(sync().run({ id: "a" }, context()));
    expect(error).toMatchObject({ retryable: false, code: "redirect_refused" });
    expect(error.message).toContain("redirects are not followed");
    expect(api.requests.map((r) => r.target)).toEqual(["/v1/items/a"]);
  });

  it("a body over maxResponseBytes is cut off with a permanent error", async () => {
    api.handle((_request, response) => json(response, 200, { big: "x".repeat(5_000) }));
    const error = await failure(sync({ maxResponseBytes: 2_048 }).run({ id: "a" }, context()));
    expect(error).toMatchObject({ retryable: false, code: "response_too_large" });
  });

  it.each([
    ["127.0.0.1", "loopback"],
    ["10.0.0.1", "private"],
    ["169.254.169.254", "linkLocal"],
  ])("a host that resolves to %s is refused when loopback is not allowed", async (address, range) => {
    const lookups: string[] = [];
    const lookup = async (host: string): Promise<LookupAddress[]> => {
      lookups.push(host);
      return [{ address, family: 4 }];
    };
    const type = sync(
      { request: { url: "https://api.example.test/v1/items/{{input.id}}" } },
      { allowLoopback: false, lookup },
    );
    const error = await failure(type.run({ id: "a" }, context()));
    expect(error).toMatchObject({ retryable: false, code: "outbound_refused" });
    expect(error.message).toContain(`resolves to ${address}, which is in a ${range} range`);
    expect(lookups).toEqual(["api.example.test"]);
  });

  it("http to loopback is refused when loopback is not allowed", async () => {
    const error = await failure(sync({}, { allowLoopback: false }).run({ id: "a" }, context()));
    expect(error).toMatchObject({ code: "outbound_refused" });
    expect(api.requests).toEqual([]);
  });

  it.each([
    ["/../admin", "%2F..%2Fadmin"],
    ["a?admin=1", "a%3Fadmin%3D1"],
    ["a#frag", "a%23frag"],
    ["user@evil.example", "user%40evil.example"],
    ["a%2Fb", "a%252Fb"],
    ["a\r\nX-Injected: 1", "a%0D%0AX-Injected%3A%201"],
  ])("input %j stays inside its path segment and query value", async (id, encoded) => {
    api.handle((_request, response) => json(response, 200, {}));
    const type = sync({
      request: { url: `${api.origin}/v1/items/{{input.id}}/detail`, query: { q: "{{input.id}}" } },
    });
    await type.run({ id }, context());
    expect(api.requests[0]?.target).toBe(`/v1/items/${encoded}/detail?q=${encoded}`);
  });

  it("a path value of only dots is refused, not sent", async () => {
    for (const id of ["..", "."]) {
      const error = await failure(sync().run({ id }, context()));
      expect(error).toMatchObject({ code: "invalid_request", retryable: false });
    }
    expect(api.requests).toEqual([]);
  });

  it("a header value holding CR/LF is refused, not sent", async () => {
    const type = sync({ request: { url: `${api.origin}/v1/items`, headers: { "x-item": "{{input.id}}" } } });
    const error = await failure(type.run({ id: "a\r\nx-injected: 1" }, context()));
    expect(error).toMatchObject({ code: "invalid_request", retryable: false });
    expect(error.message).toContain("Header x-item");
    expect(api.requests).toEqual([]);
  });

  it("an echoed secret is removed from the result", async () => {
    api.handle((request, response) => json(response, 200, { echo: request.headers.authorization }));
    expect(await sync().run({ id: "a" }, context())).toEqual({ echo: "Bearer [redacted]" });
  });

  it("a missing secret is a permanent error that names it", async () => {
    const error = await failure(sync({}, { secrets: async () => ({}) }).run({ id: "a" }, context()));
    expect(error).toMatchObject({ code: "secret_missing", retryable: false });
    expect(error.message).toBe("The secret API_KEY is not configured on this server.");
    expect(api.requests).toEqual([]);
  });
});

describe("poll mode", () => {
  let reports: Map<string, { status: string; percent: number }>;
  beforeEach(() => {
    reports = new Map();
    api.handle((request, response) => {
      if (request.method === "POST" && request.target === "/v1/reports") {
        reports.set("r1", { status: "running", percent: 0 });
        return json(response, 202, { id: "r1" }, { location: "/v1/reports/r1" });
      }
      const id = request.target.split("/").at(-1) ?? "";
      const report = reports.get(id);
      if (!report) return json(response, 404, { error: "no such report" });
      if (request.method === "DELETE") {
        report.status = "cancelled";
        return response.writeHead(204).end();
      }
      return json(response, 200, {
        ...report,
        ...(report.status === "succeeded" ? { report: { rows: 3 } } : {}),
      });
    });
  });

  it("202 + Location, then checks report progress until done, with the declared result", async () => {
    const type = polled();
    expect(type.maxDurationSeconds).toBe(600);
    expect(type.pollAfterSeconds).toBe(5);
    const submitted = await type.submit({ id: "c-9" }, context());
    expect(submitted).toEqual({
      state: {
        requestUrl: `${api.origin}/v1/reports`,
        values: { "response.headers.location": "/v1/reports/r1" },
      },
    });
    if (!("state" in submitted)) throw new Error("expected state");
    expect(JSON.stringify(submitted.state)).not.toContain(SECRET);

    (reports.get("r1") as { percent: number }).percent = 40;
    expect(await type.check(submitted.state, context())).toEqual({
      pending: { checkAfterSeconds: 5, progress: { current: 40, total: 100 } },
    });
    reports.set("r1", { status: "succeeded", percent: 100 });
    expect(await type.check(submitted.state, context())).toEqual({ done: { rows: 3 } });
    const checks = api.requests.filter((r) => r.method === "GET");
    expect(checks.map((r) => r.target)).toEqual(["/v1/reports/r1", "/v1/reports/r1"]);
    // Poll requests send the integration's headers, secrets included.
    expect(checks.every((r) => r.headers.authorization === `Bearer ${SECRET}`)).toBe(true);
  });

  it("202, then failedWhen: the job fails with what the API reported", async () => {
    const type = polled();
    const submitted = await type.submit({ id: "c-9" }, context());
    if (!("state" in submitted)) throw new Error("expected state");
    reports.set("r1", { status: "failed", percent: 10 });
    expect(await type.check(submitted.state, context())).toEqual({
      failed: {
        code: "external_job_failed",
        message: 'The API reports the job failed (status = "failed").',
        retryable: false,
      },
    });
  });

  it("cancel sends the declared request to the Location", async () => {
    const type = polled();
    const submitted = await type.submit({ id: "c-9" }, context());
    if (!("state" in submitted) || !type.cancel) throw new Error("expected state and cancel");
    await type.cancel(submitted.state, context());
    expect(api.requests.filter((r) => r.method === "DELETE").map((r) => r.target)).toEqual([
      "/v1/reports/r1",
    ]);
    expect(reports.get("r1")?.status).toBe("cancelled");
  });

  it("a Location on another origin is refused", async () => {
    api.handle((_request, response) => json(response, 202, {}, { location: "https://evil.example/steal" }));
    const type = polled();
    const submitted = await type.submit({ id: "c" }, context());
    if (!("state" in submitted)) throw new Error("expected state");
    const error = await failure(type.check(submitted.state, context()));
    expect(error).toMatchObject({ code: "invalid_request", retryable: false });
    expect(error.message).toContain("points to another origin (https://evil.example)");
  });

  it("a submit response without Location fails the check with a clear error", async () => {
    api.handle((_request, response) => json(response, 202, {}));
    const type = polled();
    const submitted = await type.submit({ id: "c" }, context());
    if (!("state" in submitted)) throw new Error("expected state");
    const error = await failure(type.check(submitted.state, context()));
    expect(error.message).toContain("has no {{response.headers.location}} to poll");
  });

  it("a poll URL built from the submit body's id", async () => {
    const type = polled({
      poll: {
        url: `${api.origin}/v1/reports/{{response.body.id}}`,
        everySeconds: 10,
        maxDurationSeconds: 60,
        doneWhen: { path: "status", equals: "succeeded" },
      },
      result: undefined,
    });
    const submitted = await type.submit({ id: "c" }, context());
    if (!("state" in submitted)) throw new Error("expected state");
    expect(await type.check(submitted.state, context())).toEqual({ pending: { checkAfterSeconds: 10 } });
    expect(api.requests.at(-1)?.target).toBe("/v1/reports/r1");
  });
});
