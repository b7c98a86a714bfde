import type { CfnElement } from "aws-cdk-lib";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/config/env-names.js";
import { SUBSCRIPTION_TABLE } from "../../lambdas/shared/config/subscription-table.js";
import { readAppContext } from "../../lib/app-context.js";
import { McpAsyncJobsStack } from "../../lib/mcp-async-jobs-stack.js";
import {
  actionsOf,
  allows,
  FAST_APP,
  logicalIdOf,
  roleLogicalId,
  type Synthesized,
  statementsOfRole,
  statementsOn,
  synthStack,
} from "./synth.js";

let synth: Synthesized;
let ids: { table: string; key: string };

beforeAll(() => {
  synth = synthStack({ eventSubscriptionsPerCaller: 7 });
  const { eventSubscriptions } = synth.stack.jobs;
  ids = {
    table: logicalIdOf(eventSubscriptions.table.node.defaultChild as CfnElement),
    key: logicalIdOf(eventSubscriptions.key.node.defaultChild as CfnElement),
  };
});

function resource(logicalId: string): { Properties: Record<string, unknown>; DeletionPolicy?: string } {
  const found = synth.template.toJSON().Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId}`);
  return found;
}

function roleOf(fn: "mcp" | "worker" | "deadLetter" | "webhooks"): string {
  const { jobs } = synth.stack;
  const functions = {
    mcp: jobs.mcpFunction,
    worker: jobs.workerFunction,
    deadLetter: jobs.deadLetterFunction,
    webhooks: jobs.notifications.function,
  };
  return roleLogicalId(functions[fn].role);
}

function environmentOf(fn: { node: { defaultChild?: unknown } }): Record<string, unknown> {
  const id = logicalIdOf(fn.node.defaultChild as CfnElement);
  return (resource(id).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

/** What a function may do to the subscription table, and to its key. */
function grantsOf(fn: "mcp" | "worker" | "deadLetter" | "webhooks"): { table: string[]; key: string[] } {
  const statements = statementsOfRole(synth.template, roleOf(fn));
  return {
    table: [...new Set(actionsOf(statementsOn(statements, ids.table)))],
    key: [...new Set(actionsOf(statementsOn(statements, ids.key)))],
  };
}

describe("the MCP Events subscription table", () => {
  it("is keyed by caller and subscription, expires through TTL, keeps point-in-time recovery and is retained", () => {
    const table = resource(ids.table);
    expect(table.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: SUBSCRIPTION_TABLE.partitionKey, KeyType: "HASH" },
        { AttributeName: SUBSCRIPTION_TABLE.sortKey, KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: SUBSCRIPTION_TABLE.ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(table.DeletionPolicy).toBe("Retain");
  });

  it("is encrypted with the stack's own customer-managed KMS key, rotated", () => {
    expect(resource(ids.table).Properties.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: "KMS",
      KMSMasterKeyId: { "Fn::GetAtt": [ids.key, "Arn"] },
    });
    expect(resource(ids.key).Properties).toMatchObject({ EnableKeyRotation: true });
  });

  it("grants each function only what it does: MCP keeps subscriptions, job enders list them, delivery reads and ends them", () => {
    const mcp = grantsOf("mcp");
    expect(mcp.table.sort()).toEqual([
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
    ]);
    expect(allows(mcp.key, "kms:Encrypt")).toBe(true);
    for (const fn of ["worker", "deadLetter"] as const) {
      const grants = grantsOf(fn);
      expect(grants.table, fn).toEqual(["dynamodb:Query"]);
      expect(grants.key.sort(), fn).toEqual(["kms:Decrypt", "kms:DescribeKey"]);
    }
    const delivery = grantsOf("webhooks");
    expect(delivery.table.sort()).toEqual(["dynamodb:DeleteItem", "dynamodb:GetItem"]);
    expect(allows(delivery.key, "kms:Encrypt")).toBe(false);
    for (const fn of ["mcp", "worker", "deadLetter", "webhooks"] as const) {
      const { table, key } = grantsOf(fn);
      for (const action of [...table, ...key]) expect(action, fn).not.toContain("*");
      expect(allows(table, "dynamodb:Scan"), fn).toBe(false);
    }
  });

  it("tells each function the table, and the MCP function the per-caller limit", () => {
    const { jobs } = synth.stack;
    for (const fn of [
      jobs.mcpFunction,
      jobs.workerFunction,
      jobs.deadLetterFunction,
      jobs.notifications.function,
    ]) {
      expect(environmentOf(fn)[ENV.eventSubscriptionTableName]).toEqual({ Ref: ids.table });
    }
    expect(environmentOf(jobs.mcpFunction)[ENV.eventSubscriptionLimit]).toBe("7");
    expect(environmentOf(jobs.workerFunction)[ENV.eventSubscriptionLimit]).toBeUndefined();
  });

  it("is cdk-nag clean (AwsSolutions and Serverless packs)", () => {
    const app = new App(FAST_APP);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    new McpAsyncJobsStack(app, "EventsNag");
    expect(() => app.synth()).not.toThrow();
  });

  it("takes the limit from the deploy flag -c eventSubscriptionsPerCaller", () => {
    const app = new App({ ...FAST_APP, context: { ...FAST_APP.context, eventSubscriptionsPerCaller: "3" } });
    expect(readAppContext(app.node).props.eventSubscriptionsPerCaller).toBe(3);
  });

  it("refuses a limit that is not a whole number of at least 1", () => {
    expect(() => synthStack({ eventSubscriptionsPerCaller: 0 })).toThrow(/subscriptionsPerCaller/);
  });
});
