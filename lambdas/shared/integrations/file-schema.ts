import * as z from "zod";

/**
 * The integrations file: each entry wraps one HTTP API as a `start_<name>` tool. This schema is the
 * public contract (field names and meanings are fixed; fields may be added, never renamed) and the
 * source of the published `integrations.schema.json`.
 */

const jsonPath = z
  .string()
  .regex(/^[^.]+(\.[^.]+)*$/, "must be dot-separated keys or array indexes, such as items.0.id")
  .describe("Dot-separated keys and array indexes into the JSON body, e.g. items.0.id");

const template = z
  .string()
  .describe("Text with {{input.x}}, {{job.id}}, {{secrets.NAME}} (headers only) placeholders");

const headers = z
  .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be a valid HTTP header name"), template)
  .describe("Header name → value template");

const method = z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]);

export const PredicateSchema = z.union([
  z.strictObject({ path: jsonPath, equals: z.json().describe("Holds when the value at path equals this") }),
  z.strictObject({
    path: jsonPath,
    in: z.array(z.json()).min(1).describe("Holds when the value at path is one of these"),
  }),
]);
export type Predicate = z.infer<typeof PredicateSchema>;

export const RequestSchema = z.strictObject({
  method: method.default("GET").describe("HTTP method (default GET)"),
  url: template.describe(
    "https URL; placeholders may appear in the path and query only, each value encoded as one path segment or query value",
  ),
  query: z
    .record(z.string(), template)
    .optional()
    .describe("Query parameters; an entry whose only placeholder has no value is left out"),
  headers: headers.optional(),
  body: z
    .json()
    .optional()
    .describe("JSON body; a string that is exactly one placeholder keeps the input's JSON type"),
  timeoutSeconds: z.int().min(1).max(900).default(30).describe("Per-request timeout in seconds (default 30)"),
});

export const CancelSchema = z.strictObject({
  method: method.default("DELETE").describe("HTTP method (default DELETE)"),
  url: template.describe(
    "URL of the cancel request; may be {{response.headers.location}} or {{response.body.x}}",
  ),
  headers: headers.optional().describe("Default: the integration's request.headers"),
});

export const PollSchema = z.strictObject({
  url: template.describe(
    "Status URL; may be {{response.headers.location}} or {{response.body.x}} of the submit response",
  ),
  method: method.default("GET").describe("HTTP method of each check (default GET)"),
  headers: headers.optional().describe("Default: the integration's request.headers"),
  everySeconds: z.int().min(5).max(900).describe("Seconds between checks (5 to 900)"),
  maxDurationSeconds: z
    .int()
    .min(10)
    .max(7 * 24 * 3600)
    .describe("Past this many seconds after the submit the job fails with deadline_exceeded"),
  doneWhen: PredicateSchema.describe("When it holds on a check's body, the job completes"),
  failedWhen: PredicateSchema.optional().describe("When it holds on a check's body, the job fails"),
  progress: z
    .strictObject({
      path: jsonPath,
      total: z
        .number()
        .positive()
        .optional()
        .describe("What the value reaches when done, e.g. 100 for percent"),
    })
    .optional()
    .describe("Where a check's body reports progress"),
  cancel: CancelSchema.optional().describe("Sent once when the job is cancelled"),
});

export const INTEGRATION_NAME = /^[a-z][a-z0-9_]{0,47}$/;

export const IntegrationSchema = z.strictObject({
  name: z
    .string()
    .regex(INTEGRATION_NAME, "must match ^[a-z][a-z0-9_]{0,47}$")
    .describe("The tool becomes start_<name>"),
  title: z.string().min(1).max(200).optional().describe("Human title (default: the name)"),
  description: z
    .string()
    .min(1)
    .max(2_000)
    .describe("What the API does, for the model; the async contract is added"),
  input: z
    .record(z.string(), z.unknown())
    .describe("JSON Schema of the tool input (type object; a subset that can be enforced)"),
  request: RequestSchema,
  poll: PollSchema.optional().describe("Absent: sync mode, the request's response is the outcome"),
  result: z
    .strictObject({ path: jsonPath })
    .optional()
    .describe("Where the result sits in the final body (default: the whole body)"),
  maxAttempts: z.int().min(1).max(10).default(3).describe("Failed attempts before the job fails (default 3)"),
  maxResponseBytes: z
    .int()
    .min(1_024)
    .max(10 * 1024 * 1024)
    .default(1024 * 1024)
    .describe("Response bodies past this size are cut off with a permanent error (default 1 MiB)"),
});
export type Integration = z.infer<typeof IntegrationSchema>;

/** Per-operation changes to an imported OpenAPI operation, with the field names of a declared entry. */
export const OpenApiOverrideSchema = z.strictObject({
  name: z
    .string()
    .regex(INTEGRATION_NAME, "must match ^[a-z][a-z0-9_]{0,47}$")
    .optional()
    .describe("The tool becomes start_<name> (default: the operationId in snake_case)"),
  title: z.string().min(1).max(200).optional().describe("Human title (default: the operation's summary)"),
  description: z
    .string()
    .min(1)
    .max(2_000)
    .optional()
    .describe("What the API does, for the model (default: the operation's summary and description)"),
  timeoutSeconds: z.int().min(1).max(900).optional().describe("Per-request timeout in seconds (default 30)"),
  poll: z
    .strictObject({
      everySeconds: z
        .int()
        .min(1)
        .max(900)
        .optional()
        .describe("Seconds between checks when the API sends no Retry-After (default 5)"),
      maxDurationSeconds: z
        .int()
        .min(10)
        .max(7 * 24 * 3600)
        .optional()
        .describe(
          "Past this many seconds after the submit the job fails with deadline_exceeded (default 3600)",
        ),
    })
    .optional(),
  result: z
    .strictObject({ path: jsonPath })
    .optional()
    .describe("Where the result sits in the final body (default: the whole body)"),
  maxAttempts: z.int().min(1).max(10).optional().describe("Failed attempts before the job fails (default 3)"),
  maxResponseBytes: z
    .int()
    .min(1_024)
    .max(10 * 1024 * 1024)
    .optional()
    .describe("Response bodies past this size are cut off with a permanent error (default 1 MiB)"),
});
export type OpenApiOverride = z.infer<typeof OpenApiOverrideSchema>;

const origin = z
  .string()
  .regex(/^https?:\/\/[^/?#@\s]+$/i, "must be an origin such as https://ops.example.com (no path)");

/** Imports operations of an OpenAPI 3.0/3.1 document: each chosen operation becomes a `start_*` tool. */
export const OpenApiImportSchema = z
  .strictObject({
    openapi: z
      .string()
      .min(1)
      .describe(
        "The OpenAPI 3.0 or 3.1 document (JSON or YAML), relative to this file; remote $refs are refused",
      ),
    operations: z.array(z.string().min(1)).min(1).optional().describe("operationIds to expose"),
    tags: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("Expose every operation carrying one of these tags"),
    baseUrl: z
      .string()
      .regex(
        /^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i,
        "must be an absolute http(s) URL without query or fragment",
      )
      .optional()
      .describe("Base URL of the API (default: the document's first server)"),
    secrets: z
      .record(z.string().min(1), z.string().regex(/^[A-Za-z0-9_]+$/, "must be a secret name (A-Z, 0-9, _)"))
      .optional()
      .describe("Security scheme name → secret name ({{secrets.NAME}}; locally SECRET_<NAME>)"),
    allowedOrigins: z
      .array(origin)
      .optional()
      .describe("Other origins the API may hand back for polling or results (default: only the base URL's)"),
    overrides: z
      .record(z.string().min(1), OpenApiOverrideSchema)
      .optional()
      .describe("operationId → changes to that operation's tool"),
  })
  .refine((entry) => entry.operations !== undefined || entry.tags !== undefined, {
    message: "choose what to expose with operations and/or tags",
  });
export type OpenApiImport = z.infer<typeof OpenApiImportSchema>;

export const IntegrationsFileSchema = z.strictObject({
  $schema: z.string().optional(),
  integrations: z.array(z.union([IntegrationSchema, OpenApiImportSchema])),
});
export type IntegrationsFile = z.infer<typeof IntegrationsFileSchema>;

/** The published JSON Schema of the file, for editors (`integrations.schema.json`). */
export function integrationsJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(IntegrationsFileSchema, { io: "input" }),
    title: "mcp-async-jobs integrations file",
  };
}
