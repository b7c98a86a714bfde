import type { CfnElement } from "aws-cdk-lib";
import { App } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/config/env-names.js";
import {
  NOTIFICATION_BATCH_SIZE,
  NOTIFICATION_FUNCTION_TIMEOUT_SECONDS,
  NOTIFICATION_MAX_CONCURRENCY,
  NOTIFICATION_MAX_RECEIVE_COUNT,
} from "../../lambdas/shared/config/notification-queue.js";
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
let ids: { queue: string; dlq: string; secret: string; delivery: string; table: string };

beforeAll(() => {
  synth = synthStack({
    callbackAllowedOrigins: ["https://hooks.example.com"],
    defaultCallbackUrl: "https://ops.example.com/jobs",
  });
  const { notifications } = synth.stack;
  ids = {
    queue: logicalIdOf(notifications.queue.node.defaultChild as CfnElement),
    dlq: logicalIdOf(notifications.deadLetterQueue.node.defaultChild as CfnElement),
    secret: logicalIdOf(notifications.secret.node.defaultChild as CfnElement),
    delivery: logicalIdOf(notifications.function.node.defaultChild as CfnElement),
    table: logicalIdOf(synth.stack.table.table.node.defaultChild as CfnElement),
  };
});

function resource(logicalId: string): { Properties: Record<string, unknown> } {
  const found = synth.template.toJSON().Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId}`);
  return found;
}

function environmentOf(fn: { node: { defaultChild?: unknown } }): Record<string, unknown> {
  const id = logicalIdOf(fn.node.defaultChild as CfnElement);
  return (resource(id).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

describe("notification queue", () => {
  it("is encrypted, TLS-only, with a visibility timeout six times the delivery function's", () => {
    expect(resource(ids.queue).Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 6 * NOTIFICATION_FUNCTION_TIMEOUT_SECONDS,
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [ids.dlq, "Arn"] },
        maxReceiveCount: NOTIFICATION_MAX_RECEIVE_COUNT,
      },
    });
    expect(resource(ids.dlq).Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    for (const queue of [ids.queue, ids.dlq]) {
      synth.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ]),
        },
      });
    }
  });

  it("alarms as soon as one message reaches its dead-letter queue", () => {
    synth.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [ids.dlq, "QueueName"] } }],
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });
});

describe("notification dead-letter queue", () => {
  it("is consumed by the dead-letter function with partial batch responses, which may only receive and delete there", () => {
    const deadLetterFunction = synth.stack.deadLetterHandler.function;
    synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [ids.dlq, "Arn"] },
      FunctionName: { Ref: logicalIdOf(deadLetterFunction.node.defaultChild as CfnElement) },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    // Its visibility timeout covers the consumer's timeout.
    expect(resource(ids.dlq).Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
      deadLetterFunction.timeout?.toSeconds() ?? Number.POSITIVE_INFINITY,
    );
    const onDlq = statementsOfRole(synth.template, roleLogicalId(deadLetterFunction.role)).filter(
      (statement) =>
        JSON.stringify(statement.Resource) === JSON.stringify({ "Fn::GetAtt": [ids.dlq, "Arn"] }),
    );
    const actions = actionsOf(onDlq);
    expect(allows(actions, "sqs:ReceiveMessage")).toBe(true);
    expect(allows(actions, "sqs:DeleteMessage")).toBe(true);
    expect(allows(actions, "sqs:SendMessage")).toBe(false);
    // Nothing else consumes it: the delivery function never sees a message that crashed it five times.
    const consumers = Object.values(synth.template.findResources("AWS::Lambda::EventSourceMapping")).filter(
      (mapping) =>
        JSON.stringify(mapping.Properties.EventSourceArn) ===
        JSON.stringify({ "Fn::GetAtt": [ids.dlq, "Arn"] }),
    );
    expect(consumers).toHaveLength(1);
  });
});

describe("delivery function", () => {
  it("consumes the notification queue with partial batch responses", () => {
    synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [ids.queue, "Arn"] },
      FunctionName: { Ref: ids.delivery },
      BatchSize: NOTIFICATION_BATCH_SIZE,
      ScalingConfig: { MaximumConcurrency: NOTIFICATION_MAX_CONCURRENCY },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    expect(resource(ids.delivery).Properties.Timeout).toBe(NOTIFICATION_FUNCTION_TIMEOUT_SECONDS);
  });

  it("gets the secret's ARN (never its value), the table and the queue it sends the next attempt to", () => {
    const env = environmentOf(synth.stack.notifications.function);
    expect(env[ENV.webhookSecretArn]).toEqual({ Ref: ids.secret });
    expect(env[ENV.webhookSecret]).toBeUndefined();
    expect(env[ENV.tableName]).toEqual({ Ref: ids.table });
    expect(env[ENV.notificationQueueUrl]).toEqual({ Ref: ids.queue });
  });

  it("may read and update jobs but not put, delete, scan or query them", () => {
    const statements = statementsOfRole(
      synth.template,
      roleLogicalId(synth.stack.notifications.function.role),
    );
    const actions = actionsOf(statementsOn(statements, ids.table));
    expect(allows(actions, "dynamodb:GetItem")).toBe(true);
    expect(allows(actions, "dynamodb:UpdateItem")).toBe(true);
    for (const forbidden of ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:Query"]) {
      expect(allows(actions, forbidden), forbidden).toBe(false);
    }
    expect(allows(actionsOf(statements), "secretsmanager:GetSecretValue")).toBe(true);
  });
});

describe("signing secret", () => {
  it("is generated by the stack as 44 base64-safe characters (33 bytes) and retained by default", () => {
    synth.template.hasResource("AWS::SecretsManager::Secret", {
      Properties: {
        GenerateSecretString: { PasswordLength: 44, ExcludePunctuation: true, IncludeSpace: false },
      },
      DeletionPolicy: "Retain",
    });
  });

  it("is readable by the delivery function only", () => {
    const roles = Object.keys(synth.template.findResources("AWS::IAM::Role"));
    const readers = roles.filter((role) =>
      statementsOfRole(synth.template, role).some(
        (s) =>
          allows([s.Action].flat(), "secretsmanager:GetSecretValue") &&
          JSON.stringify(s.Resource).includes(ids.secret),
      ),
    );
    expect(readers).toEqual([roleLogicalId(synth.stack.notifications.function.role)]);
  });

  it("is printed by an output command with its whsec_ prefix", () => {
    synth.template.hasOutput("GetWebhookSecretCommand", {
      Value: Match.objectLike({
        "Fn::Join": Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp("whsec_")])]),
      }),
    });
  });
});

describe("functions that end jobs", () => {
  it("may send to the notification queue and are told its URL", () => {
    const { endpoint, worker, deadLetterHandler } = synth.stack;
    for (const fn of [endpoint.function, worker.function, deadLetterHandler.function]) {
      expect(environmentOf(fn)[ENV.notificationQueueUrl]).toEqual({ Ref: ids.queue });
      const sends = statementsOfRole(synth.template, roleLogicalId(fn.role)).filter((s) =>
        allows([s.Action].flat(), "sqs:SendMessage"),
      );
      expect(sends.map((s) => s.Resource)).toContainEqual({ "Fn::GetAtt": [ids.queue, "Arn"] });
    }
  });

  it("the MCP function gets the callback allowlist and default URL; nobody else does", () => {
    const mcp = environmentOf(synth.stack.endpoint.function);
    expect(mcp[ENV.callbackAllowedOrigins]).toBe("https://hooks.example.com");
    expect(mcp[ENV.defaultCallbackUrl]).toBe("https://ops.example.com/jobs");
    expect(mcp[ENV.callbackAllowLoopback]).toBeUndefined();
    expect(environmentOf(synth.stack.worker.function)[ENV.callbackAllowedOrigins]).toBeUndefined();
  });
});

describe("deploy flags", () => {
  it("callbackAllowedOrigins and defaultCallbackUrl come from -c flags", () => {
    const app = new App({
      ...FAST_APP,
      context: {
        ...FAST_APP.context,
        callbackAllowedOrigins: "https://a.example.com, https://b.example.com:8443",
        defaultCallbackUrl: "https://ops.example.com/hook",
      },
    });
    const { props } = readAppContext(app.node);
    expect(props.callbackAllowedOrigins).toEqual(["https://a.example.com", "https://b.example.com:8443"]);
    expect(props.defaultCallbackUrl).toBe("https://ops.example.com/hook");
  });

  it("refuse an origin that is not https or has a path, and a default URL that is not https", () => {
    const stack = (props: ConstructorParameters<typeof McpAsyncJobsStack>[2]): McpAsyncJobsStack =>
      new McpAsyncJobsStack(new App(FAST_APP), "Bad", props);
    expect(() => stack({ callbackAllowedOrigins: ["http://hooks.example.com"] })).toThrow(/https origin/);
    expect(() => stack({ callbackAllowedOrigins: ["https://hooks.example.com/path"] })).toThrow(/no path/);
    expect(() => stack({ defaultCallbackUrl: "http://ops.example.com/x" })).toThrow(/https URL/);
  });
});
