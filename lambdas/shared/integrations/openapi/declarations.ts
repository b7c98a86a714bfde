import type { OpenApiImport } from "../file-schema.js";
import {
  FINAL_STATE_VIA,
  type FinalStateVia,
  type OpenApiOperation,
  type OperationAuth,
  POLLING_HEADERS,
} from "./operation.js";

/** What an OpenAPI operation declares, read for the import: long-running, security, input schemas. */

export type Json = Record<string, unknown>;

/** What reading an operation's security requirement needs from its document and entry. */
export interface SecurityContext {
  readonly entry: OpenApiImport;
  readonly document: Json;
  readonly schemes: Json;
  /** Throws the import error that names the operation and `construct`. */
  readonly at: (construct: string) => never;
}

/** Schema keywords OpenAPI adds that describe but do not constrain an input. */
const OPENAPI_ANNOTATIONS = new Set([
  "example",
  "examples",
  "deprecated",
  "externalDocs",
  "xml",
  "writeOnly",
]);

export function longRunningOf(
  operation: Json,
  at: (construct: string) => never,
): OpenApiOperation["longRunning"] {
  const responses = asObject(operation.responses);
  const accepted = responses["202"] !== undefined;
  const extension = operation["x-ms-long-running-operation"] === true;
  const aip151 = Object.entries(responses).some(([status, response]) => {
    if (!/^2/.test(status)) return false;
    const content = asObject(asObject(response).content);
    return Object.values(content).some((media) => {
      const props = asObject(asObject(asObject(media).schema).properties);
      return props.name !== undefined && asObject(props.done).type === "boolean";
    });
  });
  if (!accepted && !extension && !aip151) return undefined;
  const via = asObject(operation["x-ms-long-running-operation-options"])["final-state-via"];
  if (via !== undefined && !FINAL_STATE_VIA.includes(via as FinalStateVia)) {
    at(
      `x-ms-long-running-operation-options.final-state-via ${JSON.stringify(via)} is not one of ${FINAL_STATE_VIA.join(", ")}`,
    );
  }
  const declaredHeaders = Object.keys(asObject(asObject(responses["202"]).headers)).map((h) =>
    h.toLowerCase(),
  );
  const header = POLLING_HEADERS.find((h) => declaredHeaders.includes(h));
  return {
    ...(via !== undefined ? { finalStateVia: via as FinalStateVia } : {}),
    aip151,
    ...(header ? { header } : {}),
  };
}

export function securityOf(operation: Json, context: SecurityContext): OperationAuth[] {
  const requirements = asArray(operation.security ?? context.document.security);
  if (requirements.length === 0) return [];
  const problems: string[] = [];
  for (const requirement of requirements) {
    const names = Object.keys(asObject(requirement));
    if (names.length === 0) return [];
    const auth: OperationAuth[] = [];
    for (const scheme of names) {
      const declared = asObject(context.schemes[scheme]);
      const secret = context.entry.secrets?.[scheme];
      const kind = `${String(declared.type)}${declared.in ? ` in ${String(declared.in)}` : ""}${declared.scheme ? ` ${String(declared.scheme)}` : ""}`;
      if (
        declared.type === "apiKey" &&
        (declared.in === "header" || declared.in === "query") &&
        typeof declared.name === "string"
      ) {
        if (secret) auth.push({ in: declared.in, name: declared.name, secret, format: "raw" });
        else
          problems.push(`security scheme "${scheme}" needs a secret: add "secrets": { "${scheme}": "NAME" }`);
      } else if (declared.type === "http" && /^(bearer|basic)$/i.test(String(declared.scheme))) {
        const format = String(declared.scheme).toLowerCase() as "bearer" | "basic";
        if (secret) auth.push({ in: "header", name: "authorization", secret, format });
        else
          problems.push(`security scheme "${scheme}" needs a secret: add "secrets": { "${scheme}": "NAME" }`);
      } else {
        problems.push(
          `security scheme "${scheme}" (${kind}) is not supported (API key in a header or the query, HTTP bearer, HTTP basic)`,
        );
      }
    }
    if (auth.length === names.length) return auth;
  }
  return context.at(problems[0] ?? "its security requirement cannot be met");
}

/** OpenAPI's schema annotations dropped; readOnly properties left out of what a caller sends. */
export function cleanSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(cleanSchema);
  if (typeof schema !== "object" || schema === null) return schema;
  const node = schema as Json;
  const clean: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (OPENAPI_ANNOTATIONS.has(key) || key.startsWith("x-")) continue;
    if (key === "properties") {
      const properties: Json = {};
      for (const [name, child] of Object.entries(asObject(value))) {
        if (asObject(child).readOnly === true) continue;
        properties[name] = cleanSchema(child);
      }
      clean.properties = properties;
    } else if (key !== "readOnly")
      clean[key] = key === "enum" || key === "const" || key === "default" ? value : cleanSchema(value);
  }
  if (Array.isArray(clean.required) && clean.properties !== undefined) {
    clean.required = (clean.required as unknown[]).filter((name) =>
      Object.hasOwn(clean.properties as Json, String(name)),
    );
  }
  return clean;
}

export function asObject(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
