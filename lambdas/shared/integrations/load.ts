import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import * as z from "zod";
import type { JobType } from "../jobs/job-type.js";
import { type Integration, IntegrationSchema, OpenApiImportSchema } from "./file-schema.js";
import { inputSchemaToZod, UnsupportedSchemaError } from "./input-schema.js";
import { type IntegrationRuntime, integrationJobType } from "./integration-job-type.js";
import { importOpenApiEntry, OpenApiImportError } from "./openapi/import.js";
import { openApiJobType } from "./openapi/job-type.js";
import type { OpenApiOperation } from "./openapi/operation.js";
import { onlyPlaceholder, placeholders, templateOrigin } from "./templates.js";

/** The integrations file cannot be used; the message names the file, the integration and the field. */
export class IntegrationsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IntegrationsFileError";
  }
}

/** One integration, checked: its input schema is already zod. */
export interface CompiledIntegration {
  readonly integration: Integration;
  readonly input: z.ZodObject;
  /** Present when the integration is an operation imported from an OpenAPI document. */
  readonly operation?: OpenApiOperation;
}

const FileShapeSchema = z.strictObject({
  $schema: z.string().optional(),
  integrations: z.array(z.unknown()),
});

/**
 * Names an integration may not take, each with what already has it (e.g. `the demo job type
 * "slow_api"`), so that a clash is one message naming both. A plain list says "a built-in job type".
 */
export type ReservedNames = ReadonlyMap<string, string> | readonly string[];

function holderOf(reserved: ReservedNames, name: string): string | undefined {
  if (!(reserved instanceof Map)) {
    return (reserved as readonly string[]).includes(name) ? `the built-in job type "${name}"` : undefined;
  }
  return reserved.get(name);
}

/** Reads and checks an integrations file; any problem throws one IntegrationsFileError. */
export function readIntegrationsFile(path: string, reservedNames: ReservedNames = []): CompiledIntegration[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new IntegrationsFileError(
      `Integrations file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}).`,
    );
  }
  return parseIntegrationsFile(text, path, reservedNames);
}

export function parseIntegrationsFile(
  text: string,
  source: string,
  reservedNames: ReservedNames = [],
): CompiledIntegration[] {
  const fail = (detail: string): never => {
    throw new IntegrationsFileError(`Integrations file ${source}: ${detail}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`not valid JSON (${(error as Error).message}).`);
  }
  const top = FileShapeSchema.safeParse(json);
  if (!top.success) {
    return fail(
      `${top.error.issues.map((issue) => `field ${issue.path.join(".") || "(top level)"}: ${issue.message}`).join("; ")}.`,
    );
  }
  const problems: string[] = [];
  const entries: Array<
    | { kind: "declared"; integration: Integration }
    | { kind: "openapi"; entry: z.infer<typeof OpenApiImportSchema> }
  > = [];
  for (const [index, entry] of top.data.integrations.entries()) {
    const isImport = typeof entry === "object" && entry !== null && Object.hasOwn(entry, "openapi");
    const parsed = isImport ? OpenApiImportSchema.safeParse(entry) : IntegrationSchema.safeParse(entry);
    if (!parsed.success) {
      const label = isImport
        ? `OpenAPI import ${JSON.stringify((entry as { openapi?: unknown }).openapi)} (#${index + 1})`
        : `integration "${String((entry as { name?: unknown } | null)?.name ?? `#${index + 1}`)}"`;
      for (const issue of parsed.error.issues) {
        problems.push(`${label}, field ${issue.path.join(".") || "(the entry)"}: ${issue.message}`);
      }
      continue;
    }
    entries.push(
      isImport
        ? { kind: "openapi", entry: parsed.data as z.infer<typeof OpenApiImportSchema> }
        : { kind: "declared", integration: parsed.data as Integration },
    );
  }
  if (problems.length > 0) return fail(`${problems.join("; ")}.`);

  const seen = new Set<string>();
  const claim = (name: string, at: (field: string, detail: string) => never): void => {
    if (seen.has(name)) at("name", "is used by another integration; names must be unique.");
    const holder = holderOf(reservedNames, name);
    if (holder !== undefined) at("name", `clashes with ${holder}; choose another name.`);
    seen.add(name);
  };
  return entries.flatMap((item): CompiledIntegration[] => {
    if (item.kind === "openapi") {
      let imported: ReturnType<typeof importOpenApiEntry>;
      try {
        imported = importOpenApiEntry(item.entry, dirname(resolve(source)));
      } catch (error) {
        if (!(error instanceof OpenApiImportError)) throw error;
        return fail(`OpenAPI import ${item.entry.openapi}: ${error.message}`);
      }
      for (const { integration, operation } of imported) {
        claim(integration.name, (field, detail) =>
          fail(
            `OpenAPI import ${item.entry.openapi}: operation "${operation.operationId}", tool start_${integration.name}: ${field} ${detail} Set overrides.${operation.operationId}.name.`,
          ),
        );
      }
      return imported;
    }
    const { integration } = item;
    const at = (field: string, detail: string): never =>
      fail(`integration "${integration.name}", field ${field}: ${detail}`);
    claim(integration.name, at);
    let input: z.ZodObject;
    try {
      input = inputSchemaToZod(integration.input);
    } catch (error) {
      if (!(error instanceof UnsupportedSchemaError)) throw error;
      return at(error.field, `${error.message.slice(error.field.length + 2)}.`);
    }
    checkTemplates(integration, Object.keys(input.shape), at);
    return [{ integration, input }];
  });
}

type Root = "input" | "job" | "secrets" | "response";

/** Where each placeholder may appear: secrets only in headers, the submit response only in poll and cancel. */
function checkTemplates(
  integration: Integration,
  inputNames: readonly string[],
  at: (field: string, detail: string) => never,
): void {
  const check = (field: string, template: string, roots: readonly Root[]): void => {
    for (const reference of placeholders(template)) {
      const [root, first] = reference.split(".");
      const allowed =
        (root === "job" && reference === "job.id") ||
        (root === "input" && first !== undefined && roots.includes("input")) ||
        (root === "secrets" && first !== undefined && roots.includes("secrets")) ||
        (root === "response" &&
          roots.includes("response") &&
          /^response\.(body|headers)\.[^.]/.test(reference));
      if (!allowed) {
        at(
          field,
          `{{${reference}}} is not allowed here (allowed: ${roots.map((r) => (r === "job" ? "job.id" : `${r}.*`)).join(", ")}).`,
        );
      }
      if (root === "input" && first !== undefined && !inputNames.includes(first)) {
        at(field, `{{${reference}}} names no property of input.`);
      }
    }
  };
  const checkUrl = (field: string, template: string, roots: readonly Root[]): void => {
    const whole = onlyPlaceholder(template);
    if (whole !== undefined && roots.includes("response") && /^response\.(body|headers)\./.test(whole))
      return;
    const origin = templateOrigin(template);
    if (!origin || !/^https?:\/\//i.test(origin) || origin.includes("{{")) {
      at(field, "must start with a literal https:// origin (placeholders belong in the path and query).");
    }
    if (template.includes("#")) at(field, "may not hold a fragment (#).");
    check(field, template, roots);
  };
  const checkBody = (field: string, body: unknown): void => {
    if (typeof body === "string") check(field, body, ["input", "job"]);
    else if (Array.isArray(body)) {
      for (const [index, item] of body.entries()) checkBody(`${field}.${index}`, item);
    } else if (typeof body === "object" && body !== null) {
      for (const [key, value] of Object.entries(body)) checkBody(`${field}.${key}`, value);
    }
  };

  const { request, poll } = integration;
  checkUrl("request.url", request.url, ["input", "job"]);
  for (const [key, value] of Object.entries(request.query ?? {}))
    check(`request.query.${key}`, value, ["input", "job"]);
  for (const [key, value] of Object.entries(request.headers ?? {})) {
    check(`request.headers.${key}`, value, ["input", "job", "secrets"]);
  }
  checkBody("request.body", request.body);
  if (!poll) return;
  checkUrl("poll.url", poll.url, ["input", "job", "response"]);
  for (const [key, value] of Object.entries(poll.headers ?? {})) {
    check(`poll.headers.${key}`, value, ["input", "job", "secrets", "response"]);
  }
  if (poll.cancel) {
    checkUrl("poll.cancel.url", poll.cancel.url, ["input", "job", "response"]);
    for (const [key, value] of Object.entries(poll.cancel.headers ?? {})) {
      check(`poll.cancel.headers.${key}`, value, ["input", "job", "secrets", "response"]);
    }
  }
}

/** Every `{{secrets.NAME}}` the integrations use, so the worker knows what it must have. */
export function secretNames(integrations: readonly CompiledIntegration[]): string[] {
  const names = new Set<string>();
  for (const { integration } of integrations) {
    const templates = [
      ...Object.values(integration.request.headers ?? {}),
      ...Object.values(integration.poll?.headers ?? {}),
      ...Object.values(integration.poll?.cancel?.headers ?? {}),
    ];
    for (const reference of templates.flatMap(placeholders)) {
      if (reference.startsWith("secrets.")) names.add(reference.slice("secrets.".length));
    }
  }
  for (const { operation } of integrations) for (const auth of operation?.auth ?? []) names.add(auth.secret);
  return [...names].sort();
}

export function integrationJobTypes(
  integrations: readonly CompiledIntegration[],
  runtime: IntegrationRuntime,
): JobType[] {
  return integrations.map(({ integration, input, operation }) =>
    operation
      ? openApiJobType(integration, input, operation, runtime)
      : integrationJobType(integration, input, runtime),
  );
}
