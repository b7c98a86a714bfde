import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ExternalApiError } from "../../lambdas/shared/domain/errors.js";
import { integrationJobTypes, readIntegrationsFile } from "../../lambdas/shared/integrations/load.js";
import {
  isSubmitCheck,
  type JobState,
  type RunContext,
  type SubmitCheckJobType,
} from "../../lambdas/shared/jobs/job-type.js";
import { type FixtureHandler, type HttpFixture, json, startHttpFixture } from "../support/http-fixture.js";

/** The runtime of imported operations against a loopback API, one submit or check at a time. */

const SECRET = "user:p4ss-0penapi-unit";
const KEY = "qk-0penapi-unit-key";
const dir = mkdtempSync(join(tmpdir(), "openapi-job-type-"));
let api: HttpFixture;
beforeAll(async () => {
  api = await startHttpFixture();
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  api.requests.length = 0;
});

const context: RunContext = {
  jobId: "3b241101-e2bb-4255-8caf-4136c566a962",
  attempt: 1,
  signal: new AbortController().signal,
  progress: async () => {},
};

const DOCUMENT = {
  openapi: "3.1.0",
  info: { title: "unit", version: "1" },
  servers: [{ url: "https://unused.example.com" }],
  components: {
    securitySchemes: {
      basic: { type: "http", scheme: "basic" },
      key: { type: "apiKey", in: "query", name: "api_key" },
    },
  },
  security: [{ basic: [], key: [] }],
  paths: {
    "/things/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      put: {
        operationId: "putThing",
        responses: { "201": { description: "created" } },
        "x-ms-long-running-operation": true,
      },
      post: { operationId: "postThing", responses: { "200": { description: "ok" } } },
    },
  },
};

let cases = 0;
function operation(id: "putThing" | "postThing"): SubmitCheckJobType {
  const folder = mkdtempSync(join(dir, `case-${++cases}-`));
  writeFileSync(join(folder, "api.json"), JSON.stringify(DOCUMENT));
  writeFileSync(
    join(folder, "integrations.json"),
    JSON.stringify({
      integrations: [
        {
          openapi: "./api.json",
          operations: [id],
          baseUrl: `${api.origin}/v1`,
          secrets: { basic: "BASIC", key: "KEY" },
        },
      ],
    }),
  );
  const [type] = integrationJobTypes(readIntegrationsFile(join(folder, "integrations.json")), {
    allowLoopback: true,
    secrets: async () => ({ BASIC: SECRET, KEY }),
  });
  if (!type || !isSubmitCheck(type)) throw new Error("expected a submit/check job type");
  return type;
}

function answer(handler: FixtureHandler): void {
  api.handle(handler);
}

async function submitState(type: SubmitCheckJobType, input: Record<string, unknown>): Promise<JobState> {
  const outcome = await type.submit(input, context);
  if (!("state" in outcome)) throw new Error(`expected a state, got ${JSON.stringify(outcome)}`);
  return outcome.state;
}

describe("an imported operation at run time", () => {
  it("sends basic auth and the query key; the stored state holds neither", async () => {
    answer((_request, response) => json(response, 202, {}, { "operation-location": "/v1/ops/1" }));
    const state = await submitState(operation("postThing"), { id: "a b" });
    const [submit] = api.requests;
    expect(submit?.target).toBe(`/v1/things/a%20b?api_key=${KEY}`);
    expect(submit?.headers.authorization).toBe(`Basic ${Buffer.from(SECRET).toString("base64")}`);
    expect(JSON.stringify(state)).not.toContain(KEY);
    expect(JSON.stringify(state)).not.toContain("p4ss");
  });

  it("follows Operation-Location before Azure-AsyncOperation before Location", async () => {
    const type = operation("postThing");
    answer((_request, response) =>
      json(
        response,
        202,
        {},
        {
          location: "/v1/by-location",
          "azure-asyncoperation": "/v1/by-azure",
          "operation-location": "/v1/by-operation-location",
        },
      ),
    );
    expect(await submitState(type, { id: "x" })).toMatchObject({
      pollUrl: `${api.origin}/v1/by-operation-location`,
    });
    answer((_request, response) =>
      json(response, 202, {}, { location: "/v1/by-location", "azure-asyncoperation": "/v1/by-azure" }),
    );
    expect(await submitState(type, { id: "x" })).toMatchObject({
      kind: "status",
      pollUrl: `${api.origin}/v1/by-azure`,
    });
    answer((_request, response) => json(response, 202, {}, { location: "/v1/by-location" }));
    expect(await submitState(type, { id: "x" })).toMatchObject({
      kind: "location",
      pollUrl: `${api.origin}/v1/by-location`,
    });
  });

  it("a 200 with a Location on an operation not declared long-running is the result at once", async () => {
    answer((_request, response) => json(response, 200, { id: "x" }, { location: "/v1/things/x" }));
    expect(await operation("postThing").submit({ id: "x" }, context)).toEqual({ result: { id: "x" } });
  });

  it("Retry-After is bounded to 900 s; a status in any case decides; failure carries the API's error", async () => {
    const type = operation("postThing");
    answer((_request, response) =>
      json(response, 202, {}, { "operation-location": "/v1/ops/2", "retry-after": "86400" }),
    );
    const outcome = await type.submit({ id: "x" }, context);
    expect(outcome).toMatchObject({ checkAfterSeconds: 900 });
    const state = (outcome as { state: JobState }).state;
    answer((_request, response) =>
      json(response, 200, { status: "RUNNING", percentComplete: 30 }, { "retry-after": "0" }),
    );
    expect(await type.check(state, context)).toEqual({
      pending: { checkAfterSeconds: 1, progress: { current: 30, total: 100 } },
    });
    answer((_request, response) =>
      json(response, 200, { status: "failed", error: { code: "Conflict", message: `Locked by ${KEY}` } }),
    );
    expect(await type.check(state, context)).toEqual({
      failed: { code: "Conflict", message: "Locked by [redacted]", retryable: false },
    });
  });

  it("a declared long-running PUT ends with a GET of the request URL (original-uri)", async () => {
    const type = operation("putThing");
    answer((_request, response) => json(response, 201, {}, { "azure-asyncoperation": "/v1/ops/3" }));
    const state = await submitState(type, { id: "t-1" });
    answer((request, response) =>
      request.target.startsWith("/v1/ops/3")
        ? json(response, 200, { status: "Succeeded" })
        : json(response, 200, { id: "t-1", color: "red" }),
    );
    expect(await type.check(state, context)).toEqual({ done: { id: "t-1", color: "red" } });
    expect(
      api.requests.map((request) => `${request.method} ${request.target.split("?")[0]}`).slice(-2),
    ).toEqual(["GET /v1/ops/3", "GET /v1/things/t-1"]);
  });

  it("an AIP-151 operation already done with an error fails the submit with its code", async () => {
    answer((_request, response) =>
      json(response, 200, { name: "operations/1", done: true, error: { code: 5, message: "not found" } }),
    );
    const error = await operation("postThing")
      .submit({ id: "x" }, context)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExternalApiError);
    expect(error).toMatchObject({ code: "5", message: "not found", retryable: false });
  });

  it("an AIP-151 name that would climb the path is refused", async () => {
    answer((_request, response) => json(response, 200, { name: "../admin", done: false }));
    await expect(operation("postThing").submit({ id: "x" }, context)).rejects.toMatchObject({
      code: "invalid_response",
    });
  });
});
