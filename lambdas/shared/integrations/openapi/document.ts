import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** The OpenAPI document cannot be used; the message says why (the loader adds the file and entry). */
export class OpenApiDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OpenApiDocumentError";
  }
}

const DEREFERENCE_TIMEOUT_MS = 60_000;
const DEREFERENCE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The YAML parser, loaded on first use and left out of the Lambda bundles (esbuild does not follow
 * this require): a deployed function reads only the JSON documents `cdk synth` staged, so YAML is
 * parsed at synth and in the local stack, never in a function.
 */
function yamlParser(): typeof import("yaml").parse {
  try {
    return (createRequire(import.meta.url)("yaml") as typeof import("yaml")).parse;
  } catch (error) {
    throw new OpenApiDocumentError(
      `is YAML, and this function has no YAML parser (${(error as Error).message.split("\n")[0]}); deployed functions read the JSON that cdk synth staged`,
    );
  }
}

/**
 * Reads an OpenAPI document (JSON or YAML) and returns it with every `$ref` replaced by what it
 * points to. Remote references are refused. A document without `$ref` is used as it is (what a
 * deployed function reads: the document `cdk synth` already dereferenced); any other is dereferenced
 * by Swagger Parser.
 */
export function readOpenApiDocument(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new OpenApiDocumentError(`cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const parseYaml = /\.json$/i.test(path) ? undefined : yamlParser();
  let document: unknown;
  try {
    document = parseYaml === undefined ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 1000 });
  } catch (error) {
    throw new OpenApiDocumentError(
      `is not valid ${/\.json$/i.test(path) ? "JSON" : "YAML"} (${(error as Error).message.split("\n")[0]})`,
    );
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new OpenApiDocumentError("is not an OpenAPI document (not an object)");
  }
  const version = (document as { openapi?: unknown }).openapi;
  if (typeof version !== "string" || !/^3\.[01]\.\d+/.test(version)) {
    throw new OpenApiDocumentError(
      `is not OpenAPI 3.0 or 3.1 (its "openapi" field is ${JSON.stringify(version ?? null)}; Swagger 2.0 is not supported)`,
    );
  }
  const references = refs(document);
  const remote = references.find((ref) => /^[a-z][a-z0-9+.-]*:/i.test(ref) || ref.startsWith("//"));
  if (remote !== undefined) {
    throw new OpenApiDocumentError(`has a remote $ref (${remote}); remote references are refused`);
  }
  if (references.length === 0) return document as Record<string, unknown>;
  // One process reads the same document several times (the MCP side, the worker, the checks).
  const key = `${path}\0${text}`;
  const cached = dereferenced.get(key);
  if (cached) return structuredClone(cached);
  const result = dereference(path, document);
  dereferenced.set(key, result);
  return structuredClone(result);
}

const dereferenced = new Map<string, Record<string, unknown>>();

/** Every `$ref` string in the document. */
function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) refs(item, found);
  else if (typeof value === "object" && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") found.push(child);
      else refs(child, found);
    }
  }
  return found;
}

/**
 * The child's program: reads `{ path, document }` as JSON on stdin, dereferences the document with
 * Swagger Parser (remote references never fetched; a circular schema keeps its `$ref`) and writes it
 * as JSON on stdout, or one line on stderr and exit 1. Plain JavaScript, so the child needs no loader.
 */
const DEREFERENCE_PROGRAM = `
const [parserUrl] = process.argv.slice(1);
const { default: SwaggerParser } = await import(parserUrl);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
try {
  const { path, document } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const dereferenced = await SwaggerParser.dereference(path, document, {
    resolve: { http: false, external: true },
    dereference: { circular: "ignore" },
  });
  process.stdout.write(JSON.stringify(dereferenced));
} catch (error) {
  process.stderr.write(String(error && error.message ? error.message : error).split(/\\s+/).join(" "));
  process.exitCode = 1;
}
`;

/** Runs Swagger Parser's dereference in a child process and waits for it (the loader is synchronous). */
function dereference(path: string, document: object): Record<string, unknown> {
  const run = spawnSync(
    process.execPath,
    ["--input-type=module", "-e", DEREFERENCE_PROGRAM, import.meta.resolve("@apidevtools/swagger-parser")],
    {
      input: JSON.stringify({ path, document }),
      encoding: "utf8",
      timeout: DEREFERENCE_TIMEOUT_MS,
      maxBuffer: DEREFERENCE_MAX_BYTES,
    },
  );
  if (run.error || run.status !== 0) {
    const reason = run.stderr?.trim() || run.error?.message || `exit ${run.status}`;
    throw new OpenApiDocumentError(`cannot be dereferenced (${reason})`);
  }
  return JSON.parse(run.stdout) as Record<string, unknown>;
}
