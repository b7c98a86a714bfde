import { CliError } from "./errors.js";

/** The part of a tool's JSON Schema input (from `tools/list`) that argument coercion reads. */
export interface ToolInputSchema {
  readonly type?: unknown;
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly required?: readonly string[];
}

/** A tool as `tools/list` describes it. */
export interface ToolDescription {
  readonly name: string;
  readonly description?: string;
  readonly inputSchema: ToolInputSchema;
}

/**
 * Builds a tool's arguments from `--json '{…}'` and `--arg key=value` pairs (pairs win). A value
 * is typed by the tool's own input schema, so `delaySeconds=2` is the number 2 while `query=123`
 * stays the string "123". A key the tool does not declare is refused: the server ignores unknown
 * keys, so a typo would otherwise pass silently.
 */
export function buildToolArguments(
  tool: ToolDescription,
  pairs: readonly string[],
  json: string | undefined,
): Record<string, unknown> {
  const args: Record<string, unknown> = json === undefined ? {} : parseJsonObject(json);
  const properties = tool.inputSchema.properties ?? {};
  for (const pair of pairs) {
    const [key, raw] = splitPair(pair);
    if (!Object.hasOwn(properties, key)) {
      const known = Object.keys(properties).join(", ") || "none";
      throw new CliError(`${tool.name} has no argument "${key}" (its arguments: ${known})`);
    }
    args[key] = coerce(key, raw, properties[key]);
  }
  return args;
}

function parseJsonObject(json: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new CliError(`--json is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CliError('--json must be a JSON object, such as \'{"query":"x"}\'');
  }
  return value as Record<string, unknown>;
}

function splitPair(pair: string): [string, string] {
  const at = pair.indexOf("=");
  if (at <= 0) throw new CliError(`--arg takes key=value, got "${pair}"`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}

/** The JSON types a property schema allows, looking into anyOf/oneOf (how optional unions come out). */
function typesOf(schema: unknown): Set<string> {
  const types = new Set<string>();
  if (typeof schema !== "object" || schema === null) return types;
  const { type, anyOf, oneOf } = schema as { type?: unknown; anyOf?: unknown; oneOf?: unknown };
  for (const entry of Array.isArray(type) ? type : [type]) if (typeof entry === "string") types.add(entry);
  for (const member of [anyOf, oneOf].flatMap((list) => (Array.isArray(list) ? list : []))) {
    for (const entry of typesOf(member)) types.add(entry);
  }
  return types;
}

function coerce(key: string, raw: string, schema: unknown): unknown {
  const types = typesOf(schema);
  // A string is taken as written whenever the schema allows one: `query=123` stays "123".
  if (types.size === 0 || types.has("string")) return raw;
  if (types.has("integer") || types.has("number")) {
    const value = raw.trim() === "" ? Number.NaN : Number(raw);
    if (Number.isFinite(value)) return value;
    if (!types.has("boolean")) throw new CliError(`--arg ${key}=${raw}: ${key} takes a number`);
  }
  if (types.has("boolean")) {
    if (raw === "true" || raw === "false") return raw === "true";
    throw new CliError(`--arg ${key}=${raw}: ${key} takes true or false`);
  }
  try {
    return JSON.parse(raw);
  } catch {
    throw new CliError(`--arg ${key}=${raw}: ${key} takes JSON (${[...types].join(" or ")})`);
  }
}
