import * as z from "zod";

/** A JSON Schema keyword or value this converter cannot enforce; `field` is where it sits. */
export class UnsupportedSchemaError extends Error {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = "UnsupportedSchemaError";
  }
}

type Schema = Record<string, unknown>;

/** Keywords that describe but do not constrain: accepted everywhere. */
const ANNOTATIONS = new Set(["description", "title", "default", "examples", "$comment"]);
const KEYWORDS: Record<string, ReadonlySet<string>> = {
  object: new Set(["type", "properties", "required", "additionalProperties"]),
  string: new Set(["type", "minLength", "maxLength", "pattern", "enum", "format", "const"]),
  integer: new Set([
    "type",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "enum",
    "const",
  ]),
  number: new Set([
    "type",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "enum",
    "const",
  ]),
  boolean: new Set(["type", "const"]),
  array: new Set(["type", "items", "minItems", "maxItems"]),
};

const FORMATS: Record<string, () => z.ZodString | z.ZodType<string>> = {
  "date-time": () => z.iso.datetime({ offset: true }),
  date: () => z.iso.date(),
  time: () => z.iso.time(),
  email: () => z.email(),
  uri: () => z.url(),
  uuid: () => z.uuid(),
  ipv4: () => z.ipv4(),
  ipv6: () => z.ipv6(),
};

/**
 * Turns the JSON Schema of an integration's input into zod. Only what zod can enforce exactly is
 * accepted; any other keyword is refused with the field it sits on, so a schema never promises
 * more checking than the tool does. The top level must be an object.
 */
export function inputSchemaToZod(schema: Schema): z.ZodObject {
  if (schema.type !== "object")
    throw new UnsupportedSchemaError("input", 'the top level must be { "type": "object" }');
  return convert(schema, "input") as z.ZodObject;
}

function convert(schema: unknown, field: string): z.ZodType {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new UnsupportedSchemaError(field, "must be a JSON Schema object");
  }
  const node = schema as Schema;
  const type = node.type;
  if (typeof type !== "string" || !(type in KEYWORDS)) {
    throw new UnsupportedSchemaError(
      field,
      `"type" must be one of ${Object.keys(KEYWORDS).join(", ")} (got ${JSON.stringify(type)})`,
    );
  }
  const allowed = KEYWORDS[type] as ReadonlySet<string>;
  for (const keyword of Object.keys(node)) {
    if (!allowed.has(keyword) && !ANNOTATIONS.has(keyword)) {
      throw new UnsupportedSchemaError(
        field,
        `"${keyword}" is not supported on type ${type}; it could not be enforced`,
      );
    }
  }
  let result = convertType(type, node, field);
  if (node.const !== undefined) result = literal([node.const], result, field);
  if (typeof node.description === "string") result = result.describe(node.description);
  return result;
}

function convertType(type: string, node: Schema, field: string): z.ZodType {
  switch (type) {
    case "object":
      return objectSchema(node, field);
    case "string":
      return stringSchema(node, field);
    case "integer":
    case "number":
      return numberSchema(type, node, field);
    case "boolean":
      return z.boolean();
    default:
      return arraySchema(node, field);
  }
}

function objectSchema(node: Schema, field: string): z.ZodObject {
  const properties = node.properties ?? {};
  if (typeof properties !== "object" || properties === null || Array.isArray(properties)) {
    throw new UnsupportedSchemaError(`${field}.properties`, "must be an object");
  }
  const required = node.required ?? [];
  if (!Array.isArray(required) || !required.every((name) => typeof name === "string")) {
    throw new UnsupportedSchemaError(`${field}.required`, "must be an array of property names");
  }
  for (const name of required) {
    if (!(name in properties))
      throw new UnsupportedSchemaError(`${field}.required`, `"${name}" is not in properties`);
  }
  const additional = node.additionalProperties;
  if (additional !== undefined && typeof additional !== "boolean") {
    throw new UnsupportedSchemaError(`${field}.additionalProperties`, "only true or false is supported");
  }
  const shape: Record<string, z.ZodType> = {};
  for (const [name, child] of Object.entries(properties as Schema)) {
    const path = `${field}.properties.${name}`;
    let property = convert(child, path);
    const fallback = (child as Schema).default;
    if (fallback !== undefined) {
      const valid = property.safeParse(fallback);
      if (!valid.success)
        throw new UnsupportedSchemaError(`${path}.default`, "does not fit the property's own schema");
      property = property.default(valid.data);
    } else if (!required.includes(name)) {
      property = property.optional();
    }
    shape[name] = property;
  }
  // Unknown keys are dropped, never passed to the API: what the file declares is all a call carries.
  return z.object(shape);
}

function nonNegativeInt(node: Schema, key: string, field: string): number | undefined {
  const value = node[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new UnsupportedSchemaError(`${field}.${key}`, "must be a non-negative integer");
  }
  return value;
}

function finite(node: Schema, key: string, field: string): number | undefined {
  const value = node[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new UnsupportedSchemaError(`${field}.${key}`, "must be a number");
  }
  return value;
}

function stringSchema(node: Schema, field: string): z.ZodType {
  let schema: z.ZodType<string>;
  if (node.format !== undefined) {
    const make = typeof node.format === "string" ? FORMATS[node.format] : undefined;
    if (!make) {
      throw new UnsupportedSchemaError(
        `${field}.format`,
        `${JSON.stringify(node.format)} cannot be enforced; supported: ${Object.keys(FORMATS).join(", ")}`,
      );
    }
    schema = make();
  } else {
    schema = z.string();
  }
  let text = schema as z.ZodString;
  const min = nonNegativeInt(node, "minLength", field);
  const max = nonNegativeInt(node, "maxLength", field);
  if (min !== undefined) text = text.min(min);
  if (max !== undefined) text = text.max(max);
  if (node.pattern !== undefined) {
    if (typeof node.pattern !== "string")
      throw new UnsupportedSchemaError(`${field}.pattern`, "must be a string");
    let pattern: RegExp;
    try {
      pattern = new RegExp(node.pattern, "u");
    } catch {
      throw new UnsupportedSchemaError(`${field}.pattern`, "is not a valid regular expression");
    }
    text = text.regex(pattern);
  }
  if (node.enum !== undefined) return literal(node.enum, text, field);
  return text;
}

function numberSchema(type: "integer" | "number", node: Schema, field: string): z.ZodType {
  let schema = type === "integer" ? z.int() : z.number();
  const minimum = finite(node, "minimum", field);
  const maximum = finite(node, "maximum", field);
  const exclusiveMinimum = finite(node, "exclusiveMinimum", field);
  const exclusiveMaximum = finite(node, "exclusiveMaximum", field);
  const multipleOf = finite(node, "multipleOf", field);
  if (minimum !== undefined) schema = schema.gte(minimum);
  if (maximum !== undefined) schema = schema.lte(maximum);
  if (exclusiveMinimum !== undefined) schema = schema.gt(exclusiveMinimum);
  if (exclusiveMaximum !== undefined) schema = schema.lt(exclusiveMaximum);
  if (multipleOf !== undefined) {
    if (multipleOf <= 0) throw new UnsupportedSchemaError(`${field}.multipleOf`, "must be greater than 0");
    schema = schema.multipleOf(multipleOf);
  }
  if (node.enum !== undefined) return literal(node.enum, schema, field);
  return schema;
}

function arraySchema(node: Schema, field: string): z.ZodType {
  if (node.items === undefined)
    throw new UnsupportedSchemaError(`${field}.items`, "is required, so every item is checked");
  let schema = z.array(convert(node.items, `${field}.items`));
  const min = nonNegativeInt(node, "minItems", field);
  const max = nonNegativeInt(node, "maxItems", field);
  if (min !== undefined) schema = schema.min(min);
  if (max !== undefined) schema = schema.max(max);
  return schema;
}

/** `enum` / `const`: each listed value must itself fit the base schema. */
function literal(values: unknown, base: z.ZodType, field: string): z.ZodType {
  if (!Array.isArray(values) || values.length === 0) {
    throw new UnsupportedSchemaError(`${field}.enum`, "must be a non-empty array");
  }
  for (const value of values) {
    if (!["string", "number", "boolean"].includes(typeof value) || !base.safeParse(value).success) {
      throw new UnsupportedSchemaError(
        `${field}.enum`,
        `${JSON.stringify(value)} does not fit the field's type`,
      );
    }
  }
  // Every value already fits the base, so the literal alone enforces both (and lists them for the model).
  return z.literal(values as Array<string | number | boolean>);
}
