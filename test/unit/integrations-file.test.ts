import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { inputSchemaToZod } from "../../lambdas/shared/integrations/input-schema.js";
import {
  IntegrationsFileError,
  parseIntegrationsFile,
  secretNames,
} from "../../lambdas/shared/integrations/load.js";
import { JOB_TYPES } from "../../lambdas/shared/jobs/registry.js";
import { EXAMPLES_FILE } from "../../local/examples.js";
import { INTEGRATIONS_SCHEMA_FILE, integrationsSchemaText } from "../../local/write-integrations-schema.js";

const base = {
  name: "render_report",
  description: "Renders a report.",
  input: { type: "object", properties: { customerId: { type: "string" } }, required: ["customerId"] },
  request: { url: "https://reports.example.com/v1/customers/{{input.customerId}}/reports" },
};

function load(...integrations: unknown[]): ReturnType<typeof parseIntegrationsFile> {
  return parseIntegrationsFile(
    JSON.stringify({ integrations }),
    "integrations.json",
    JOB_TYPES.map((t) => t.name),
  );
}

function problem(...integrations: unknown[]): string {
  try {
    load(...integrations);
  } catch (error) {
    expect(error).toBeInstanceOf(IntegrationsFileError);
    return (error as Error).message;
  }
  throw new Error("the file was accepted");
}

describe("the integrations file", () => {
  it("accepts the design's example and applies the defaults", () => {
    const [compiled] = load({
      ...base,
      input: {
        type: "object",
        properties: {
          customerId: { type: "string", pattern: "^[A-Za-z0-9-]{1,64}$" },
          year: { type: "integer", minimum: 2000, maximum: 2100 },
        },
        required: ["customerId"],
      },
      request: {
        method: "POST",
        url: "https://reports.example.com/v1/customers/{{input.customerId}}/reports",
        query: { year: "{{input.year}}" },
        headers: { authorization: "Bearer {{secrets.REPORTS_KEY}}", "idempotency-key": "{{job.id}}" },
        body: { format: "json", year: "{{input.year}}" },
        timeoutSeconds: 30,
      },
      poll: {
        url: "{{response.headers.location}}",
        everySeconds: 15,
        maxDurationSeconds: 3600,
        doneWhen: { path: "status", equals: "succeeded" },
        failedWhen: { path: "status", in: ["failed", "cancelled"] },
        progress: { path: "percent", total: 100 },
        cancel: { method: "DELETE", url: "{{response.headers.location}}" },
      },
      result: { path: "report" },
      maxAttempts: 3,
    });
    expect(compiled?.integration.poll?.method).toBe("GET");
    expect(compiled?.input.safeParse({ customerId: "c-1", year: 2024 }).success).toBe(true);
    expect(compiled?.input.safeParse({ customerId: "c/1" }).success).toBe(false);
    expect(compiled?.input.safeParse({ customerId: "c", year: 1999 }).success).toBe(false);
    expect(secretNames(compiled ? [compiled] : [])).toEqual(["REPORTS_KEY"]);
    const [plain] = load(base);
    expect(plain?.integration).toMatchObject({
      maxAttempts: 3,
      request: { method: "GET", timeoutSeconds: 30 },
    });
  });

  it("the shipped examples load", () => {
    const names = parseIntegrationsFile(readFileSync(EXAMPLES_FILE, "utf8"), EXAMPLES_FILE).map(
      (c) => c.integration.name,
    );
    expect(names).toEqual([
      "summarize_text",
      "render_report",
      "create_invoice",
      "get_quote",
      "translate_text",
      "export_data",
      "archive_mailbox",
    ]);
  });

  it("names the integration and the field of a malformed entry, in one message", () => {
    expect(problem({ ...base, request: { url: base.request.url, timeoutSeconds: 0 } })).toBe(
      'Integrations file integrations.json: integration "render_report", field request.timeoutSeconds: Too small: expected number to be >=1.',
    );
    expect(problem({ ...base, name: "Bad-Name" })).toMatch(/integration "Bad-Name", field name: must match/);
    expect(problem({ ...base, description: undefined })).toMatch(
      /integration "render_report", field description:/,
    );
    expect(problem({ ...base, reqest: {} })).toMatch(
      /integration "render_report", field \(the entry\): Unrecognized key: "reqest"/,
    );
  });

  it("refuses a file that is not JSON, or has no integrations list", () => {
    expect(() => parseIntegrationsFile("{ nope", "f.json")).toThrow(
      /^Integrations file f.json: not valid JSON/,
    );
    expect(() => parseIntegrationsFile("{}", "f.json")).toThrow(/field integrations:/);
  });

  it("refuses duplicate names and built-in job type names", () => {
    expect(problem(base, base)).toMatch(
      /integration "render_report", field name: is used by another integration/,
    );
    expect(problem({ ...base, name: "slow_api" })).toMatch(
      /field name: clashes with the built-in job type "slow_api"/,
    );
  });

  it("refuses placeholders where they do not belong", () => {
    const withRequest = (request: Record<string, unknown>): unknown => ({
      ...base,
      request: { ...base.request, ...request },
    });
    expect(problem(withRequest({ url: "https://{{input.customerId}}.example.com/" }))).toMatch(
      /field request.url: must start with a literal https:\/\/ origin/,
    );
    expect(problem(withRequest({ url: "https://x.example.com/{{secrets.KEY}}" }))).toMatch(
      /field request.url: \{\{secrets.KEY\}\} is not allowed here/,
    );
    expect(problem(withRequest({ body: { key: "{{secrets.KEY}}" } }))).toMatch(
      /field request.body.key: \{\{secrets.KEY\}\}/,
    );
    expect(problem(withRequest({ query: { q: "{{response.body.id}}" } }))).toMatch(/field request.query.q/);
    expect(problem(withRequest({ url: "https://x.example.com/a#{{input.customerId}}" }))).toMatch(/fragment/);
    expect(problem(withRequest({ headers: { "x-id": "{{input.nope}}" } }))).toMatch(
      /field request.headers.x-id: \{\{input.nope\}\} names no property of input/,
    );
  });

  it("refuses an input schema it cannot enforce, naming the field", () => {
    const withProperty = (schema: unknown): unknown => ({
      ...base,
      input: { type: "object", properties: { customerId: { type: "string" }, extra: schema } },
    });
    expect(problem(withProperty({ oneOf: [{ type: "string" }] }))).toBe(
      'Integrations file integrations.json: integration "render_report", field input.properties.extra: "type" must be one of object, string, integer, number, boolean, array (got undefined).',
    );
    expect(problem(withProperty({ type: "string", format: "hostname" }))).toMatch(
      /field input.properties.extra.format: "hostname" cannot be enforced/,
    );
    expect(problem(withProperty({ type: "array", items: { type: "string" }, uniqueItems: true }))).toMatch(
      /field input.properties.extra: "uniqueItems" is not supported on type array/,
    );
    expect(problem(withProperty({ type: "string", pattern: "(" }))).toMatch(
      /extra.pattern: is not a valid regular expression/,
    );
    expect(problem({ ...base, input: { type: "string" } })).toMatch(/field input: the top level must be/);
  });
});

describe("JSON Schema → zod", () => {
  const schema = inputSchemaToZod({
    type: "object",
    properties: {
      name: { type: "string", minLength: 2, maxLength: 5, description: "A name" },
      color: { type: "string", enum: ["red", "green"] },
      when: { type: "string", format: "date-time" },
      email: { type: "string", format: "email" },
      count: { type: "integer", minimum: 1, maximum: 3, default: 2 },
      ratio: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
      flag: { type: "boolean" },
      tags: { type: "array", items: { type: "string", maxLength: 3 }, minItems: 1, maxItems: 2 },
      address: {
        type: "object",
        properties: { city: { type: "string" }, zip: { type: "string", pattern: "^\\d{5}$" } },
        required: ["city"],
      },
    },
    required: ["name"],
  });

  it("enforces each supported keyword", () => {
    const ok = { name: "ab", color: "red", when: "2026-01-02T03:04:05Z", email: "a@b.example", ratio: 0.5 };
    expect(
      schema.parse({ ...ok, tags: ["x"], flag: true, address: { city: "Oslo", zip: "12345" } }),
    ).toMatchObject({
      count: 2,
    });
    for (const bad of [
      {},
      { name: "a" },
      { name: "abcdef" },
      { name: "ab", color: "blue" },
      { name: "ab", when: "yesterday" },
      { name: "ab", email: "nope" },
      { name: "ab", count: 4 },
      { name: "ab", count: 1.5 },
      { name: "ab", ratio: 1 },
      { name: "ab", ratio: 0 },
      { name: "ab", flag: "yes" },
      { name: "ab", tags: [] },
      { name: "ab", tags: ["a", "b", "c"] },
      { name: "ab", tags: ["long"] },
      { name: "ab", address: {} },
      { name: "ab", address: { city: "x", zip: "1" } },
    ]) {
      expect(schema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it("drops unknown keys instead of passing them to the API", () => {
    expect(schema.parse({ name: "ab", _meta: { trace: 1 } })).not.toHaveProperty("_meta");
  });

  it("refuses a default that does not fit its own schema", () => {
    expect(() =>
      inputSchemaToZod({ type: "object", properties: { n: { type: "integer", maximum: 3, default: 9 } } }),
    ).toThrow("input.properties.n.default: does not fit the property's own schema");
  });
});

describe("integrations.schema.json", () => {
  it("is the committed output of the zod schema (npm run integrations:schema regenerates it)", () => {
    // Compared as JSON: the formatter may lay the committed file out differently.
    expect(JSON.parse(readFileSync(INTEGRATIONS_SCHEMA_FILE, "utf8"))).toEqual(
      JSON.parse(integrationsSchemaText()),
    );
  });
});
