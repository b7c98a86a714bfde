import { App, type CfnElement, Stack, Validations } from "aws-cdk-lib";
import { Queue } from "aws-cdk-lib/aws-sqs";
import type { IConstruct } from "constructs";
import { describe, expect, it } from "vitest";
import { addComplianceChecks } from "../../lib/compliance.js";
import { McpAsyncJobsStack, type McpAsyncJobsStackProps } from "../../lib/mcp-async-jobs-stack.js";
import { FAST_APP } from "./synth.js";

interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
  readonly path: string;
}

function acknowledgementsIn(root: IConstruct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ id: id.replace(/^annotation::/i, ""), reason, path: construct.node.path });
      }
    }
  }
  return found;
}

function checkedApp(props: McpAsyncJobsStackProps = {}): { app: App; stack: McpAsyncJobsStack } {
  const app = new App(FAST_APP);
  const stack = new McpAsyncJobsStack(app, "Nag", props);
  addComplianceChecks(app);
  return { app, stack };
}

describe("cdk-nag (AwsSolutions and Serverless packs)", () => {
  const modes: [string, McpAsyncJobsStackProps][] = [
    ["api-key", {}],
    ["jwt", { auth: { mode: "jwt", jwtIssuer: "https://issuer.example.com/", jwtAudience: "api://mcp" } }],
    ["none", { auth: { mode: "none", allowUnauthenticated: true } }],
    ["tracing off, no dashboard", { tracing: false, dashboard: false }],
  ];

  it.each(modes)("finds nothing unacknowledged in %s mode", (_mode, props) => {
    const { app } = checkedApp(props);
    expect(() => app.synth()).not.toThrow();
  });

  it("stops synth on an unacknowledged finding (the checks really run)", () => {
    const { app, stack } = checkedApp();
    new Queue(stack, "Careless", { enforceSSL: false });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });

  it("acknowledges only these findings, each on its resource with a concrete reason", () => {
    const { stack } = checkedApp();
    const acknowledgements = acknowledgementsIn(stack);
    const bucket = Stack.of(stack).getLogicalId(stack.results.bucket.node.defaultChild as CfnElement);
    expect([...new Set(acknowledgements.map((a) => a.id))].sort()).toEqual([
      "AwsSolutions-APIG4",
      // X-Ray's trace-writing actions have no resource-level permissions.
      "AwsSolutions-IAM5[Resource::*]",
      `AwsSolutions-IAM5[Resource::<${bucket}.Arn>/results/*]`,
      "AwsSolutions-L1",
      "AwsSolutions-S1",
      "AwsSolutions-SMG4",
      "Serverless-LambdaDLQ",
      "Serverless-LambdaEventSourceMappingDestination",
      "Serverless-LambdaLatestVersion",
      "Serverless-SQSRedrivePolicy",
    ]);
    for (const { id, reason, path } of acknowledgements) {
      expect(reason.length, `${id} at ${path}`).toBeGreaterThan(80);
      // Acknowledged where the finding is, never for the whole stack.
      expect(path, id).not.toBe(stack.node.path);
    }
  });

  it("with tracing off, acknowledges the missing tracing instead of the X-Ray grant", () => {
    const { stack } = checkedApp({ tracing: false });
    const ids = new Set(acknowledgementsIn(stack).map((a) => a.id));
    expect(ids.has("Serverless-LambdaTracing")).toBe(true);
    expect(ids.has("AwsSolutions-IAM5[Resource::*]")).toBe(false);
  });
});
