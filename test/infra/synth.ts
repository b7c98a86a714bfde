import { App, type CfnElement, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IRole } from "aws-cdk-lib/aws-iam";
import { McpAsyncJobsStack, type McpAsyncJobsStackProps } from "../../lib/mcp-async-jobs-stack.js";

/**
 * App settings for fast in-process synths: bundling is skipped (the `aws:cdk:bundling-stacks` context
 * `cdk synth --exclusively` uses) and so is CDK's built-in CloudFormation schema validation (seconds per
 * synth). `cdk-synth.test.ts` runs the real `cdk synth`, which bundles and validates.
 */
export const FAST_APP = {
  context: { "aws:cdk:bundling-stacks": [] },
  builtinCloudFormationValidation: false,
} as const;

export interface Synthesized {
  readonly app: App;
  readonly stack: McpAsyncJobsStack;
  readonly template: Template;
}

export function synthStack(props: McpAsyncJobsStackProps = {}): Synthesized {
  const app = new App(FAST_APP);
  const stack = new McpAsyncJobsStack(app, "Test", props);
  return { app, stack, template: Template.fromStack(stack) };
}

export function logicalIdOf(element: CfnElement): string {
  return Stack.of(element).getLogicalId(element);
}

export function roleLogicalId(role: IRole | undefined): string {
  if (role === undefined) throw new Error("function has no role");
  return logicalIdOf(role.node.defaultChild as CfnElement);
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Every statement of every inline policy attached to the role. */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  const policies = template.findResources("AWS::IAM::Policy");
  const statements: Statement[] = [];
  for (const policy of Object.values(policies)) {
    const roles = (policy.Properties?.Roles ?? []) as unknown[];
    if (!roles.some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId }))) continue;
    statements.push(...(policy.Properties.PolicyDocument.Statement as Statement[]));
  }
  const role = template.findResources("AWS::IAM::Role")[roleId];
  for (const policy of (role?.Properties?.Policies ?? []) as {
    PolicyDocument: { Statement: Statement[] };
  }[]) {
    statements.push(...policy.PolicyDocument.Statement);
  }
  return statements;
}

export function actionsOf(statements: readonly Statement[]): string[] {
  return statements.filter((s) => s.Effect === "Allow").flatMap((s) => [s.Action].flat());
}

/** Whether an allowed action pattern (e.g. `dynamodb:*`) covers `action`. */
export function allows(actions: readonly string[], action: string): boolean {
  return actions.some((pattern) => {
    const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i");
    return regex.test(action);
  });
}

/** The statements whose resources name the resource with `logicalId` (a table, a queue, a key). */
export function statementsOn(statements: readonly Statement[], logicalId: string): Statement[] {
  return statements.filter((statement) => JSON.stringify(statement.Resource).includes(`"${logicalId}"`));
}
