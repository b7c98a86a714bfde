import { describe, expect, it } from "vitest";
import { CliError } from "../../cli/errors.js";
import { buildToolArguments, type ToolDescription } from "../../cli/tool-args.js";

/** The shape `tools/list` gives for start_slow_api, plus a few types the demo tools do not use. */
const tool: ToolDescription = {
  name: "start_example",
  inputSchema: {
    type: "object",
    properties: {
      query: { type: "string" },
      delaySeconds: { type: "integer", minimum: 0 },
      ratio: { type: "number" },
      dryRun: { type: "boolean" },
      tags: { type: "array", items: { type: "string" } },
      limit: { anyOf: [{ type: "integer" }, { type: "null" }] },
    },
    required: ["query"],
  },
};

function failure(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error("expected a CliError");
}

describe("jobs CLI: --arg and --json", () => {
  it("types each value by the tool's schema: numbers and booleans coerced, strings kept as written", () => {
    const args = buildToolArguments(
      tool,
      ["query=123", "delaySeconds=2", "ratio=0.5", "dryRun=true", 'tags=["a","b"]', "limit=7"],
      undefined,
    );
    expect(args).toEqual({
      query: "123",
      delaySeconds: 2,
      ratio: 0.5,
      dryRun: true,
      tags: ["a", "b"],
      limit: 7,
    });
  });

  it("keeps everything after the first = as the value, an empty value included", () => {
    expect(buildToolArguments(tool, ["query=a=b=c"], undefined)).toEqual({ query: "a=b=c" });
    expect(buildToolArguments(tool, ["query="], undefined)).toEqual({ query: "" });
  });

  it("merges --json with --arg, the --arg value winning", () => {
    expect(buildToolArguments(tool, ["delaySeconds=1"], '{"query":"q","delaySeconds":9}')).toEqual({
      query: "q",
      delaySeconds: 1,
    });
  });

  it("refuses a pair without key=value, naming what it got", () => {
    expect(failure(() => buildToolArguments(tool, ["query"], undefined)).message).toBe(
      '--arg takes key=value, got "query"',
    );
    expect(failure(() => buildToolArguments(tool, ["=x"], undefined)).message).toBe(
      '--arg takes key=value, got "=x"',
    );
  });

  it("refuses a key the tool does not declare (the server would silently ignore a typo)", () => {
    const error = failure(() => buildToolArguments(tool, ["qeury=x"], undefined));
    expect(error.message).toBe(
      'start_example has no argument "qeury" (its arguments: query, delaySeconds, ratio, dryRun, tags, limit)',
    );
    expect(error.exitCode).toBe(3);
  });

  it("refuses values that do not fit the declared type", () => {
    expect(failure(() => buildToolArguments(tool, ["delaySeconds=soon"], undefined)).message).toBe(
      "--arg delaySeconds=soon: delaySeconds takes a number",
    );
    expect(failure(() => buildToolArguments(tool, ["delaySeconds="], undefined)).message).toContain(
      "takes a number",
    );
    expect(failure(() => buildToolArguments(tool, ["dryRun=yes"], undefined)).message).toBe(
      "--arg dryRun=yes: dryRun takes true or false",
    );
    expect(failure(() => buildToolArguments(tool, ["tags=a,b"], undefined)).message).toBe(
      "--arg tags=a,b: tags takes JSON (array)",
    );
  });

  it("refuses --json that is not a JSON object", () => {
    expect(failure(() => buildToolArguments(tool, [], "{query")).message).toMatch(
      /^--json is not valid JSON/,
    );
    expect(failure(() => buildToolArguments(tool, [], "[1]")).message).toMatch(
      /^--json must be a JSON object/,
    );
    expect(failure(() => buildToolArguments(tool, [], "null")).message).toMatch(
      /^--json must be a JSON object/,
    );
  });
});
