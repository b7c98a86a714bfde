import { resolve } from "node:path";
import type * as z from "zod";
import { StartControls } from "../../mcp/tool-schemas.js";
import { INTEGRATION_NAME, type Integration, type OpenApiImport } from "../file-schema.js";
import { inputSchemaToZod, UnsupportedSchemaError } from "../input-schema.js";
import {
  asArray,
  asObject,
  cleanSchema,
  type Json,
  longRunningOf,
  type SecurityContext,
  securityOf,
} from "./declarations.js";
import { OpenApiDocumentError, readOpenApiDocument } from "./document.js";
import type { DeclaredCancel, OpenApiOperation } from "./operation.js";

/** One imported operation cannot become a tool; the message names the operation and the construct. */
export class OpenApiImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OpenApiImportError";
  }
}

export interface ImportedOperation {
  readonly integration: Integration;
  readonly input: z.ZodObject;
  readonly operation: OpenApiOperation;
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;
const DEFAULT_EVERY_SECONDS = 5;
const DEFAULT_MAX_DURATION_SECONDS = 3600;
const DEFAULT_TIMEOUT_SECONDS = 30;
/**
 * Expands one `{ openapi, … }` entry of the integrations file into one integration per chosen
 * operation. `fileDir`: the integrations file's folder (the document's path is relative to it).
 */
export function importOpenApiEntry(entry: OpenApiImport, fileDir: string): ImportedOperation[] {
  let document: Json;
  try {
    document = readOpenApiDocument(resolve(fileDir, entry.openapi));
  } catch (error) {
    if (error instanceof OpenApiDocumentError)
      throw new OpenApiImportError(`${entry.openapi} ${error.message}.`);
    throw error;
  }
  const paths = asObject(document.paths);
  const all: Array<{ method: (typeof METHODS)[number]; path: string; item: Json; operation: Json }> = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const operation = asObject(asObject(item)[method]);
      if (Object.keys(operation).length > 0) all.push({ method, path, item: asObject(item), operation });
    }
  }
  const byId = new Map(
    all
      .filter((o) => typeof o.operation.operationId === "string")
      .map((o) => [o.operation.operationId as string, o]),
  );

  const chosen = new Map<string, (typeof all)[number]>();
  for (const id of entry.operations ?? []) {
    const found = byId.get(id);
    if (!found) throw new OpenApiImportError(`operation "${id}" is not in ${entry.openapi}.`);
    chosen.set(id, found);
  }
  for (const tag of entry.tags ?? []) {
    const tagged = all.filter((o) => Array.isArray(o.operation.tags) && o.operation.tags.includes(tag));
    if (tagged.length === 0)
      throw new OpenApiImportError(`no operation of ${entry.openapi} carries the tag "${tag}".`);
    for (const o of tagged) {
      const id = o.operation.operationId;
      if (typeof id !== "string") {
        throw new OpenApiImportError(
          `operation ${o.method.toUpperCase()} ${o.path} (tag "${tag}") has no operationId; give it one to import it.`,
        );
      }
      chosen.set(id, o);
    }
  }
  for (const id of Object.keys(entry.overrides ?? {})) {
    if (!chosen.has(id))
      throw new OpenApiImportError(`overrides names "${id}", which is not an imported operation.`);
  }

  const baseUrl = baseUrlOf(entry, document);
  const cancels: DeclaredCancel[] = all.flatMap(({ method, path }): DeclaredCancel[] =>
    method === "delete"
      ? [{ method: "DELETE", path }]
      : method === "post" && path.endsWith(":cancel")
        ? [{ method: "POST", path }]
        : [],
  );
  const schemes = asObject(asObject(document.components).securitySchemes);
  return [...chosen.entries()].map(([id, o]) => {
    const at = (construct: string): never => {
      throw new OpenApiImportError(`operation "${id}" (${o.method.toUpperCase()} ${o.path}): ${construct}.`);
    };
    return importOperation(id, o, { entry, document, baseUrl, cancels, schemes, at });
  });
}

interface Context extends SecurityContext {
  readonly entry: OpenApiImport;
  readonly baseUrl: string;
  readonly cancels: readonly DeclaredCancel[];
}

function importOperation(
  id: string,
  o: { method: (typeof METHODS)[number]; path: string; item: Json; operation: Json },
  context: Context,
): ImportedOperation {
  const { entry, at } = context;
  const override = entry.overrides?.[id] ?? {};
  const name = override.name ?? snakeCase(id);
  if (!INTEGRATION_NAME.test(name)) {
    at(
      `its tool name "${name}" (from the operationId) must match ^[a-z][a-z0-9_]{0,47}$; set overrides.${id}.name`,
    );
  }
  const auth = securityOf(o.operation, context);

  // Path-level parameters apply unless the operation redeclares them (same name and place).
  const declared = new Map<string, Json>();
  for (const parameter of [...asArray(o.item.parameters), ...asArray(o.operation.parameters)]) {
    const p = asObject(parameter);
    declared.set(`${String(p.in)}:${String(p.name)}`, p);
  }
  const properties: Json = {};
  const required: string[] = [];
  const pathParameters: string[] = [];
  const queryParameters: string[] = [];
  const headerParameters: string[] = [];
  for (const p of declared.values()) {
    const name = String(p.name);
    const where = String(p.in);
    if (where === "cookie") at(`cookie parameter "${name}" is not supported`);
    if (!["path", "query", "header"].includes(where))
      at(`parameter "${name}" is in "${where}", which is not supported`);
    const filled = auth.some(
      (a) =>
        a.in === where &&
        (where === "header" ? a.name.toLowerCase() === name.toLowerCase() : a.name === name),
    );
    if (filled) continue;
    if (p.content !== undefined) at(`parameter "${name}" uses "content"; only "schema" is supported`);
    if (p.style !== undefined && p.style !== (where === "query" ? "form" : "simple")) {
      at(`parameter "${name}" has style "${String(p.style)}", which is not supported`);
    }
    if (Object.hasOwn(StartControls.shape, name)) {
      at(`parameter "${name}" has the name of an argument every start tool has; it cannot be an input`);
    }
    if (name === "body" || Object.hasOwn(properties, name)) {
      at(`parameter "${name}" is declared twice (or is named "body"); input properties must be unique`);
    }
    const schema = cleanSchema(p.schema ?? {});
    const type = (schema as Json).type;
    if (!["string", "integer", "number", "boolean"].includes(String(type))) {
      at(
        `parameter "${name}" has type ${JSON.stringify(type ?? null)}; only string, integer, number and boolean parameters are supported`,
      );
    }
    const description = typeof p.description === "string" ? p.description : undefined;
    properties[name] =
      description && !(schema as Json).description ? { ...(schema as Json), description } : schema;
    if (p.required === true || where === "path") required.push(name);
    (where === "path" ? pathParameters : where === "query" ? queryParameters : headerParameters).push(name);
  }
  for (const segment of o.path.matchAll(/\{([^}]+)\}/g)) {
    if (!pathParameters.includes(segment[1] as string) && !auth.some((a) => a.name === segment[1])) {
      at(`path parameter "${segment[1]}" is not declared`);
    }
  }

  let hasBody = false;
  if (o.operation.requestBody !== undefined) {
    const body = asObject(o.operation.requestBody);
    const content = asObject(body.content);
    const type = Object.keys(content).find((t) => /^application\/([\w.+-]*\+)?json(;|$)/i.test(t));
    if (!type)
      at(
        `its request body is ${Object.keys(content).join(", ") || "without content"}; only a JSON body is supported`,
      );
    const schema = asObject(content[type as string]).schema;
    if (schema === undefined) at("its JSON request body has no schema, so it cannot be checked");
    properties.body = cleanSchema(schema);
    if (body.required === true) required.push("body");
    hasBody = true;
  }

  const inputSchema: Json = { type: "object", properties, ...(required.length > 0 ? { required } : {}) };
  let input: z.ZodObject;
  try {
    input = inputSchemaToZod(inputSchema);
  } catch (error) {
    if (error instanceof UnsupportedSchemaError) {
      return at(
        `${error.message.replace(/^input\.properties\./, "input ")} (JSON Schema construct not enforced)`,
      );
    }
    throw error;
  }
  if (JSON.stringify(inputSchema).includes('"$ref"')) at("a recursive schema cannot be enforced");

  const longRunning = longRunningOf(o.operation, at);
  const summary = typeof o.operation.summary === "string" ? o.operation.summary.trim() : "";
  const detail = typeof o.operation.description === "string" ? o.operation.description.trim() : "";
  const described = [summary, detail].filter(Boolean).join(summary && !/[.!?]$/.test(summary) ? ". " : " ");
  const description = (
    override.description ??
    (described || `Calls ${o.method.toUpperCase()} ${o.path}.`)
  ).slice(0, 2000);
  const integration: Integration = {
    name,
    title: override.title ?? (summary ? summary.slice(0, 200) : name),
    description,
    input: inputSchema,
    request: {
      method: o.method.toUpperCase() as Integration["request"]["method"],
      url: `${context.baseUrl}${o.path}`,
      headers: Object.fromEntries(
        auth.filter((a) => a.in === "header").map((a) => [a.name, `{{secrets.${a.secret}}}`]),
      ),
      timeoutSeconds: override.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    },
    ...(override.result ? { result: override.result } : {}),
    maxAttempts: override.maxAttempts ?? 3,
    maxResponseBytes: override.maxResponseBytes ?? 1024 * 1024,
  };
  const operation: OpenApiOperation = {
    operationId: id,
    method: integration.request.method,
    baseUrl: context.baseUrl,
    path: o.path,
    pathParameters,
    queryParameters,
    headerParameters,
    hasBody,
    auth,
    ...(longRunning ? { longRunning } : {}),
    cancels: context.cancels,
    allowedOrigins: (entry.allowedOrigins ?? []).map((origin) => new URL(origin).origin),
    everySeconds: override.poll?.everySeconds ?? DEFAULT_EVERY_SECONDS,
    maxDurationSeconds: override.poll?.maxDurationSeconds ?? DEFAULT_MAX_DURATION_SECONDS,
  };
  return { integration, input, operation };
}

function baseUrlOf(entry: OpenApiImport, document: Json): string {
  let url = entry.baseUrl;
  if (url === undefined) {
    const server = asObject(asArray(document.servers)[0]);
    if (typeof server.url !== "string") {
      throw new OpenApiImportError(`${entry.openapi} declares no servers; set baseUrl in the entry.`);
    }
    url = server.url.replace(/\{([^}]+)\}/g, (_m, variable: string) => {
      const fallback = asObject(asObject(server.variables)[variable]).default;
      if (typeof fallback !== "string") {
        throw new OpenApiImportError(
          `${entry.openapi}: server variable "${variable}" has no default; set baseUrl.`,
        );
      }
      return fallback;
    });
    if (!/^https?:\/\//i.test(url)) {
      throw new OpenApiImportError(
        `${entry.openapi}: its first server (${url}) is not an absolute http(s) URL; set baseUrl.`,
      );
    }
  }
  return url.replace(/\/+$/, "");
}

/** `createReport` → `create_report`, `getHTTPStatus` → `get_http_status`, `list-items` → `list_items`. */
export function snakeCase(id: string): string {
  return id
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase();
}
