import { App, type CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ENV_READ_BY_FUNCTION } from "../../lambdas/shared/config/config.js";
import type { ServiceFunction } from "../../lib/lambda-function.js";
import { McpAsyncJobsStack } from "../../lib/mcp-async-jobs-stack.js";
import { FAST_APP, logicalIdOf, type Synthesized, synthStack } from "./synth.js";

/** Set by the function wrapper for the runtime, not read by our config. */
const RUNTIME_VARIABLES = new Set(["NODE_OPTIONS"]);

function variablesOf(synth: Synthesized, fn: ServiceFunction): string[] {
  const resources = synth.template.toJSON().Resources as Record<
    string,
    { Properties?: { Environment?: { Variables?: Record<string, unknown> } } }
  >;
  const id = logicalIdOf(fn.node.defaultChild as CfnElement);
  return Object.keys(resources[id]?.Properties?.Environment?.Variables ?? {});
}

/** Per function, the variables the stack sets that its config never reads. */
function unreadVariables(synth: Synthesized): Record<string, string[]> {
  const functions = {
    mcp: synth.stack.endpoint.function,
    worker: synth.stack.worker.function,
    deadLetter: synth.stack.deadLetterHandler.function,
  };
  return Object.fromEntries(
    Object.entries(functions).map(([name, fn]) => {
      const read = new Set(ENV_READ_BY_FUNCTION[name as keyof typeof functions]);
      const unread = variablesOf(synth, fn).filter((v) => !read.has(v) && !RUNTIME_VARIABLES.has(v));
      return [name, unread];
    }),
  );
}

describe("function environments", () => {
  for (const [mode, auth] of [
    ["api-key", undefined],
    ["jwt", { mode: "jwt" as const, jwtIssuer: "https://issuer.example.com", jwtAudience: "mcp" }],
  ] as const) {
    it(`set only variables the function's config reads (${mode} mode)`, () => {
      expect(unreadVariables(synthStack(auth ? { auth } : {}))).toEqual({
        mcp: [],
        worker: [],
        deadLetter: [],
      });
    });
  }

  it("a variable the function does not read is caught", () => {
    const app = new App(FAST_APP);
    const stack = new McpAsyncJobsStack(app, "Extra");
    stack.endpoint.function.addEnvironment("JOB_MAX_RECEIVE_COUNT", "5");
    const synth = { app, stack, template: Template.fromStack(stack) };
    expect(unreadVariables(synth)).toEqual({ mcp: ["JOB_MAX_RECEIVE_COUNT"], worker: [], deadLetter: [] });
  });
});
