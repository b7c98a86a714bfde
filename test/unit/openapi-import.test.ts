import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { formatPreviews, previewIntegrations } from "../../lambdas/shared/integrations/describe.js";
import {
  type CompiledIntegration,
  IntegrationsFileError,
  readIntegrationsFile,
  secretNames,
} from "../../lambdas/shared/integrations/load.js";
import { snakeCase } from "../../lambdas/shared/integrations/openapi/import.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/openapi/lro.openapi.yaml", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "openapi-import-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes an integrations file (and a document beside it, when given) and loads it. */
function load(entry: Record<string, unknown>, document?: unknown, name = "api.json"): CompiledIntegration[] {
  const folder = mkdtempSync(join(dir, `case-${++files}-`));
  if (document !== undefined) {
    writeFileSync(join(folder, name), typeof document === "string" ? document : JSON.stringify(document));
  }
  const file = join(folder, "integrations.json");
  writeFileSync(file, JSON.stringify({ integrations: [{ openapi: `./${name}`, ...entry }] }));
  return readIntegrationsFile(file);
}

function loadError(entry: Record<string, unknown>, document?: unknown, name?: string): string {
  try {
    load(entry, document, name);
  } catch (error) {
    expect(error).toBeInstanceOf(IntegrationsFileError);
    return (error as Error).message;
  }
  throw new Error("the file loaded");
}

/** A small OpenAPI 3.0 document with one operation `op` on POST /things/{id}. */
function documentWith(operation: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return {
    openapi: "3.0.3",
    info: { title: "t", version: "1" },
    servers: [{ url: "https://api.example.com/v2/" }],
    paths: {
      "/things/{id}": {
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        post: { operationId: "op", responses: { "200": { description: "ok" } }, ...operation },
      },
    },
    ...extra,
  };
}

describe("an OpenAPI import entry", () => {
  it("yields one integration per chosen operation, named from its operationId, inputs from its parameters and body", () => {
    const integrations = readIntegrationsFile(
      (() => {
        const file = join(dir, "fixture.json");
        writeFileSync(
          file,
          JSON.stringify({
            integrations: [
              {
                openapi: FIXTURE,
                operations: ["getGreeting", "createReport", "runExport"],
                tags: ["reports"],
                secrets: { ApiKeyAuth: "REPORTS_KEY" },
              },
            ],
          }),
        );
        return file;
      })(),
    );
    const byName = Object.fromEntries(integrations.map((c) => [c.integration.name, c]));
    expect(Object.keys(byName)).toEqual(["get_greeting", "create_report", "run_export", "start_scenario"]);
    const greeting = byName.get_greeting as CompiledIntegration;
    expect(greeting.integration.description).toBe("Greets someone. Answers at once.");
    expect(greeting.integration.request.url).toBe("https://api.example.com/v1/greetings/{name}");
    // The security scheme's header is filled from the secret, not asked of the caller.
    expect(z.toJSONSchema(greeting.input)).toMatchObject({
      properties: { name: { type: "string", minLength: 1 }, lang: { enum: ["en", "fr"] } },
      required: ["name"],
    });
    expect(Object.keys(greeting.input.shape)).toEqual(["name", "lang"]);
    expect(greeting.input.safeParse({ name: "x", lang: "de" }).success).toBe(false);
    // The body's $ref is dereferenced; its readOnly property is no input.
    const report = byName.create_report as CompiledIntegration;
    expect(z.toJSONSchema(report.input)).toMatchObject({
      properties: { body: { properties: { customerId: { type: "string" } }, required: ["customerId"] } },
      required: ["body"],
    });
    expect(report.operation?.longRunning).toEqual({
      finalStateVia: "location",
      aip151: false,
      header: "operation-location",
    });
    expect(byName.run_export?.operation?.longRunning).toMatchObject({ aip151: true });
    expect(greeting.operation?.longRunning).toBeUndefined();
    expect(secretNames(integrations)).toEqual(["REPORTS_KEY"]);
    // What `jobs integrations list` prints for it.
    const text = formatPreviews(previewIntegrations(integrations));
    expect(text).toContain("start_get_greeting  [sync]  from operation getGreeting");
    expect(text).toContain("  inputs: name (string, required), lang (string)");
    expect(text).toContain("start_create_report  [long-running]");
    expect(text).toContain("  polls:  the Operation-Location URL; final result via location");
    expect(text).toContain("  polls:  GET https://api.example.com/v1/<operation name> (AIP-151) until done");
  });

  it("takes a YAML or JSON document, 3.0 or 3.1; baseUrl and overrides win over the document", () => {
    const yaml = [
      "openapi: 3.1.0",
      "info: { title: t, version: '1' }",
      "servers: [{ url: 'https://{region}.example.com/v1', variables: { region: { default: eu } } }]",
      "paths:",
      "  /jobs:",
      "    post:",
      "      operationId: submitJob",
      "      summary: Submits a job",
      "      security: [{ bearer: [] }]",
      "      responses: { '202': { description: accepted } }",
      "components: { securitySchemes: { bearer: { type: http, scheme: bearer } } }",
    ].join("\n");
    const [fromDocument] = load(
      { operations: ["submitJob"], secrets: { bearer: "JOB_TOKEN" } },
      yaml,
      "api.yaml",
    );
    expect(fromDocument?.integration.request.url).toBe("https://eu.example.com/v1/jobs");
    expect(fromDocument?.operation?.auth).toEqual([
      { in: "header", name: "authorization", secret: "JOB_TOKEN", format: "bearer" },
    ]);
    const [overridden] = load(
      {
        operations: ["submitJob"],
        baseUrl: "https://jobs.internal.example/api/",
        secrets: { bearer: "JOB_TOKEN" },
        overrides: {
          submitJob: {
            name: "run_job",
            description: "Runs a job.",
            timeoutSeconds: 10,
            poll: { everySeconds: 2, maxDurationSeconds: 60 },
            result: { path: "data" },
            maxAttempts: 1,
          },
        },
      },
      yaml,
      "api.yaml",
    );
    expect(overridden?.integration).toMatchObject({
      name: "run_job",
      description: "Runs a job.",
      request: { url: "https://jobs.internal.example/api/jobs", timeoutSeconds: 10 },
      result: { path: "data" },
      maxAttempts: 1,
    });
    expect(overridden?.operation).toMatchObject({ everySeconds: 2, maxDurationSeconds: 60 });
  });

  it.each([
    [
      "a cookie parameter",
      { parameters: [{ name: "s", in: "cookie", schema: { type: "string" } }] },
      'cookie parameter "s"',
    ],
    [
      "a oneOf body",
      {
        requestBody: {
          content: { "application/json": { schema: { oneOf: [{ type: "string" }, { type: "integer" }] } } },
        },
      },
      '"type" must be one of',
    ],
    [
      "a nullable property",
      {
        requestBody: {
          content: {
            "application/json": {
              schema: { type: "object", properties: { n: { type: "string", nullable: true } } },
            },
          },
        },
      },
      'input body.properties.n: "nullable" is not supported',
    ],
    [
      "a form body",
      { requestBody: { content: { "application/x-www-form-urlencoded": { schema: { type: "object" } } } } },
      "its request body is application/x-www-form-urlencoded; only a JSON body is supported",
    ],
    [
      "a JSON body without a schema",
      { requestBody: { content: { "application/json": {} } } },
      "its JSON request body has no schema, so it cannot be checked",
    ],
    [
      "an array query parameter",
      { parameters: [{ name: "ids", in: "query", schema: { type: "array", items: { type: "string" } } }] },
      'parameter "ids" has type "array"',
    ],
    [
      "a parameter named like a start tool argument",
      { parameters: [{ name: "waitSeconds", in: "query", schema: { type: "integer" } }] },
      'parameter "waitSeconds" has the name of an argument every start tool has',
    ],
    ["an OAuth2 scheme", { security: [{ oauth: [] }] }, 'security scheme "oauth" (oauth2) is not supported'],
  ])("refuses %s with one message naming the operation and the construct", (_what, operation, construct) => {
    const message = loadError(
      { operations: ["op"] },
      documentWith(operation, {
        components: { securitySchemes: { oauth: { type: "oauth2", flows: {} } } },
      }),
    );
    expect(message).toContain(`OpenAPI import ./api.json: operation "op" (POST /things/{id}): `);
    expect(message).toContain(construct);
    expect(message.split("\n")).toHaveLength(1);
  });

  it("refuses a document or an entry it cannot use, with one message", () => {
    expect(loadError({ operations: ["nope"] }, documentWith({}))).toContain(
      'operation "nope" is not in ./api.json',
    );
    expect(loadError({ tags: ["none"] }, documentWith({}))).toContain(
      'no operation of ./api.json carries the tag "none"',
    );
    expect(
      loadError({ operations: ["op"], overrides: { other: { maxAttempts: 1 } } }, documentWith({})),
    ).toContain('overrides names "other"');
    expect(loadError({ operations: ["op"] })).toContain("./api.json cannot be read (ENOENT)");
    expect(loadError({ operations: ["op"] }, { swagger: "2.0", paths: {} })).toContain(
      "is not OpenAPI 3.0 or 3.1",
    );
    expect(
      loadError(
        { operations: ["op"] },
        documentWith({
          requestBody: {
            content: { "application/json": { schema: { $ref: "https://schemas.example.com/x.json" } } },
          },
        }),
      ),
    ).toContain("has a remote $ref (https://schemas.example.com/x.json); remote references are refused");
    expect(
      loadError(
        { operations: ["op"] },
        documentWith(
          { security: [{ key: [] }] },
          {
            components: { securitySchemes: { key: { type: "apiKey", in: "header", name: "X-Key" } } },
          },
        ),
      ),
    ).toContain('security scheme "key" needs a secret: add "secrets": { "key": "NAME" }');
    expect(loadError({ operations: ["op"] }, documentWith({ operationId: "op" }, { servers: [] }))).toContain(
      "declares no servers; set baseUrl",
    );
    expect(loadError({ openapi: "./api.json" })).toContain(
      "choose what to expose with operations and/or tags",
    );
    expect(
      loadError({ operations: ["op"], allowedOrigins: ["https://x.example/path"] }, documentWith({})),
    ).toContain("field allowedOrigins.0: must be an origin");
  });

  it("refuses two tools of one name, naming the operation", () => {
    const folder = mkdtempSync(join(dir, "twice-"));
    writeFileSync(join(folder, "api.json"), JSON.stringify(documentWith({})));
    const file = join(folder, "integrations.json");
    writeFileSync(
      file,
      JSON.stringify({
        integrations: [
          { openapi: "./api.json", operations: ["op"] },
          { openapi: "./api.json", operations: ["op"] },
        ],
      }),
    );
    expect(() => readIntegrationsFile(file)).toThrow(
      /operation "op", tool start_op: name is used by another integration/,
    );
  });
});

describe("snakeCase", () => {
  it.each([
    ["createReport", "create_report"],
    ["getHTTPStatus", "get_http_status"],
    ["list-items", "list_items"],
    ["Jobs.Submit", "jobs_submit"],
    ["v2GetThing", "v2_get_thing"],
  ])("%s → %s", (id, expected) => {
    expect(snakeCase(id)).toBe(expected);
  });
});
