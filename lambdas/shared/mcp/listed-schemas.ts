import * as z from "zod";

/** A tool's JSON Schemas as every door lists them (JSON Schema draft-07, converted once). */
export interface ListedSchemas {
  readonly input: Record<string, unknown>;
  readonly output: Record<string, unknown>;
}

/** The JSON Schemas of a zod schema as tools/list shows them (draft-07, as SDK v1 converts). */
export function listedSchemas(input: z.ZodObject, output: z.ZodObject): ListedSchemas {
  return {
    input: z.toJSONSchema(input, { target: "draft-7", io: "input" }) as Record<string, unknown>,
    output: z.toJSONSchema(output, { target: "draft-7", io: "output" }) as Record<string, unknown>,
  };
}

interface ListedTool {
  readonly inputSchema: z.ZodObject;
  readonly outputSchema: z.ZodObject;
  readonly listed: ListedSchemas;
}

/** A tool whose JSON Schemas are converted when first listed (once), not at cold start. */
export function listedOnFirstUse<T extends ListedTool>(tool: Omit<T, "listed">): T {
  let listed: ListedSchemas | undefined;
  return Object.defineProperty({ ...tool }, "listed", {
    get: (): ListedSchemas => {
      listed ??= listedSchemas(tool.inputSchema, tool.outputSchema);
      return listed;
    },
    enumerable: true,
  }) as T;
}
