import { describe, expect, it } from "vitest";
import { AWS_CALL_POLICIES } from "../../lambdas/shared/adapters/aws-call-policy.js";
import type { LocalAwsClients } from "../../local/aws-clients.js";
import { startTestStack } from "../support/mcp-stack.js";

/** The retry budget each function's DynamoDB client got, as the stack configured it. */
async function budgetsOf(
  env: Record<string, string>,
): Promise<{ policy: string; attempts: Record<string, number> }> {
  const seen: Array<[string, LocalAwsClients]> = [];
  const stack = await startTestStack({ env, configureClients: (clients, fn) => seen.push([fn, clients]) });
  try {
    const attempts: Record<string, number> = {};
    for (const [fn, clients] of seen) attempts[fn] = await clients.dynamo.config.maxAttempts();
    return { policy: stack.callPolicy, attempts };
  } finally {
    await stack.stop();
  }
}

describe("AWS_CALL_POLICY on the local stack", () => {
  it("deployed gives the MCP and worker functions their deployed call budgets", async () => {
    expect(await budgetsOf({ AWS_CALL_POLICY: "deployed" })).toEqual({
      policy: "deployed",
      attempts: { mcp: AWS_CALL_POLICIES.mcp.maxAttempts, worker: AWS_CALL_POLICIES.worker.maxAttempts },
    });
  });

  it("local (the default) keeps the patient local budget", async () => {
    const local = AWS_CALL_POLICIES.local.maxAttempts;
    expect(AWS_CALL_POLICIES.mcp.maxAttempts).not.toBe(local);
    expect(await budgetsOf({})).toEqual({ policy: "local", attempts: { mcp: local, worker: local } });
  });

  it("a bad value fails the start with a message naming the variable", async () => {
    await expect(startTestStack({ env: { AWS_CALL_POLICY: "fast" } })).rejects.toThrow(
      /AWS_CALL_POLICY: must be "local" .* or "deployed"/,
    );
  });
});
