import type { CfnElement } from "aws-cdk-lib";
import { App, Duration, RemovalPolicy } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/config/env-names.js";
import { WORKER_BATCH_SIZE, WORKER_MAX_CONCURRENCY } from "../../lambdas/shared/config/functions.js";
import {
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_RESULT_MAX_BYTES,
  DEFAULT_WORKER_TIMEOUT_SECONDS,
  JOB_TABLE,
} from "../../lambdas/shared/config/table-schema.js";
import { RESULT_KEY_PREFIX } from "../../lambdas/shared/domain/results.js";
import { readAppContext } from "../../lib/app-context.js";
import { VISIBILITY_TIMEOUT_FACTOR } from "../../lib/job-queue.js";
import { McpAsyncJobsStack } from "../../lib/mcp-async-jobs-stack.js";
import { MCP_PATH } from "../../lib/mcp-endpoint.js";
import {
  actionsOf,
  allows,
  FAST_APP,
  logicalIdOf,
  roleLogicalId,
  type Statement,
  type Synthesized,
  statementsOfRole,
  statementsOn,
  synthStack,
} from "./synth.js";

let synth: Synthesized;
let ids: {
  table: string;
  queue: string;
  dlq: string;
  mcp: string;
  worker: string;
  deadLetters: string;
  bucket: string;
};

beforeAll(() => {
  synth = synthStack();
  const { stack } = synth;
  ids = {
    table: logicalIdOf(stack.table.table.node.defaultChild as CfnElement),
    queue: logicalIdOf(stack.queue.queue.node.defaultChild as CfnElement),
    dlq: logicalIdOf(stack.queue.deadLetterQueue.node.defaultChild as CfnElement),
    mcp: logicalIdOf(stack.endpoint.function.node.defaultChild as CfnElement),
    worker: logicalIdOf(stack.worker.function.node.defaultChild as CfnElement),
    deadLetters: logicalIdOf(stack.deadLetterHandler.function.node.defaultChild as CfnElement),
    bucket: logicalIdOf(stack.results.bucket.node.defaultChild as CfnElement),
  };
});

function resource(logicalId: string): { Properties: Record<string, unknown>; DeletionPolicy?: string } {
  const found = synth.template.toJSON().Resources[logicalId];
  if (!found) throw new Error(`no resource ${logicalId}`);
  return found;
}

function environmentOf(functionId: string): Record<string, unknown> {
  const env = resource(functionId).Properties.Environment as { Variables: Record<string, unknown> };
  return env.Variables;
}

describe("job table", () => {
  it("expires rows on the attribute the code writes", () => {
    synth.template.hasResourceProperties("AWS::DynamoDB::Table", {
      TimeToLiveSpecification: { AttributeName: JOB_TABLE.ttlAttribute, Enabled: true },
    });
  });

  it("is on-demand, keyed and indexed as the adapter expects", () => {
    synth.template.hasResourceProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      KeySchema: [{ AttributeName: JOB_TABLE.partitionKey, KeyType: "HASH" }],
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: JOB_TABLE.ownerIndex.name,
          KeySchema: [
            { AttributeName: JOB_TABLE.ownerIndex.partitionKey, KeyType: "HASH" },
            { AttributeName: JOB_TABLE.ownerIndex.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        }),
        Match.objectLike({
          IndexName: JOB_TABLE.activeIndex.name,
          KeySchema: [
            { AttributeName: JOB_TABLE.activeIndex.partitionKey, KeyType: "HASH" },
            { AttributeName: JOB_TABLE.activeIndex.sortKey, KeyType: "RANGE" },
          ],
          Projection: {
            ProjectionType: "INCLUDE",
            NonKeyAttributes: [...JOB_TABLE.activeIndex.projectedAttributes],
          },
        }),
      ]),
    });
  });

  it("has point-in-time recovery and encryption at rest, and is retained by default", () => {
    synth.template.hasResourceProperties("AWS::DynamoDB::Table", {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(resource(ids.table).DeletionPolicy).toBe("Retain");
  });
});

describe("job queue", () => {
  it("has a visibility timeout of at least six times the worker's timeout", () => {
    const workerTimeout = resource(ids.worker).Properties.Timeout as number;
    const visibility = resource(ids.queue).Properties.VisibilityTimeout as number;
    expect(workerTimeout).toBe(DEFAULT_WORKER_TIMEOUT_SECONDS);
    expect(visibility).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_FACTOR * workerTimeout);
    expect(VISIBILITY_TIMEOUT_FACTOR).toBeGreaterThanOrEqual(6);
  });

  it("redrives to the dead-letter queue after maxReceiveCount receives, and tells the code that count", () => {
    expect(resource(ids.queue).Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [ids.dlq, "Arn"] },
      maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT,
    });
    expect(environmentOf(ids.worker)[ENV.maxReceiveCount]).toBe(String(DEFAULT_MAX_RECEIVE_COUNT));
    // The MCP function only sends: it neither reads nor gets the count.
    expect(environmentOf(ids.mcp)[ENV.maxReceiveCount]).toBeUndefined();
  });

  it("keeps dead letters 14 days", () => {
    expect(resource(ids.dlq).Properties.MessageRetentionPeriod).toBe(Duration.days(14).toSeconds());
  });

  it("encrypts both queues", () => {
    for (const id of [ids.queue, ids.dlq]) expect(resource(id).Properties.SqsManagedSseEnabled).toBe(true);
  });

  it("denies every request to either queue that does not use TLS", () => {
    for (const id of [ids.queue, ids.dlq]) {
      synth.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "sqs:*",
              Principal: { AWS: "*" },
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    }
  });
});

describe("functions", () => {
  it("run Node.js 22 on arm64 as ESM bundles with source maps and their own log groups", () => {
    for (const id of [ids.mcp, ids.worker, ids.deadLetters]) {
      const props = resource(id).Properties;
      expect(props.Runtime).toBe("nodejs22.x");
      expect(props.Architectures).toEqual(["arm64"]);
      expect(props.Handler).toBe("index.handler");
      expect(environmentOf(id).NODE_OPTIONS).toBe("--enable-source-maps");
      expect(props.LoggingConfig).toEqual({ LogGroup: { Ref: expect.any(String) } });
    }
    synth.template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 30 }, 5);
  });

  it("the worker consumes the job queue with partial batch responses, batch size and maximum concurrency", () => {
    synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: ids.worker },
      EventSourceArn: { "Fn::GetAtt": [ids.queue, "Arn"] },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BatchSize: WORKER_BATCH_SIZE,
      ScalingConfig: { MaximumConcurrency: WORKER_MAX_CONCURRENCY },
    });
  });

  it("the dead-letter handler consumes the dead-letter queue with partial batch responses", () => {
    synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: ids.deadLetters },
      EventSourceArn: { "Fn::GetAtt": [ids.dlq, "Arn"] },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    const dlqVisibility = resource(ids.dlq).Properties.VisibilityTimeout as number;
    const timeout = resource(ids.deadLetters).Properties.Timeout as number;
    expect(dlqVisibility).toBeGreaterThanOrEqual(VISIBILITY_TIMEOUT_FACTOR * timeout);
  });

  it("get the environment the code reads, under the shared names", () => {
    expect(environmentOf(ids.mcp)).toMatchObject({
      [ENV.tableName]: { Ref: ids.table },
      [ENV.queueUrl]: { Ref: ids.queue },
      [ENV.jobTtlSeconds]: "86400",
      [ENV.authMode]: "api-key",
      [ENV.apiKeysSecretArn]: { Ref: expect.any(String) },
      [ENV.callerMaxActiveJobs]: "20",
      [ENV.callerMaxStartsPerMinute]: "60",
    });
    expect(environmentOf(ids.mcp)[ENV.resultMaxBytes]).toBeUndefined();
    expect(environmentOf(ids.worker)).toMatchObject({
      [ENV.tableName]: { Ref: ids.table },
      [ENV.queueUrl]: { Ref: ids.queue },
      [ENV.resultMaxBytes]: String(DEFAULT_RESULT_MAX_BYTES),
    });
    expect(environmentOf(ids.deadLetters)).toMatchObject({ [ENV.tableName]: { Ref: ids.table } });
  });

  it("the MCP function answers inside API Gateway's 30 s integration limit", () => {
    const timeout = resource(ids.mcp).Properties.Timeout as number;
    expect(timeout).toBeGreaterThanOrEqual(25 + 3);
    expect(timeout).toBeLessThan(30);
  });
});

describe("least privilege", () => {
  const statementsOf = (functionId: "mcp" | "worker" | "deadLetters"): Statement[] => {
    const fn = {
      mcp: synth.stack.endpoint,
      worker: synth.stack.worker,
      deadLetters: synth.stack.deadLetterHandler,
    }[functionId].function;
    return statementsOfRole(synth.template, roleLogicalId(fn.role));
  };

  it("no role has a managed policy or a wildcard action", () => {
    for (const role of Object.values(synth.template.findResources("AWS::IAM::Role"))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    for (const fn of ["mcp", "worker", "deadLetters"] as const) {
      for (const action of actionsOf(statementsOf(fn))) expect(action).not.toContain("*");
    }
  });

  it("the MCP function cannot Scan, DeleteItem or BatchWriteItem on the job table", () => {
    const actions = actionsOf(statementsOn(statementsOf("mcp"), ids.table));
    const all = actionsOf(statementsOf("mcp"));
    for (const forbidden of ["dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]) {
      expect(allows(actions, forbidden), forbidden).toBe(false);
    }
    for (const needed of ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]) {
      expect(allows(actions, needed), needed).toBe(true);
    }
    expect(allows(all, "sqs:SendMessage")).toBe(true);
    expect(allows(all, "sqs:ReceiveMessage")).toBe(false);
  });

  it("the MCP function may query the two indexes by name, not index/*", () => {
    const dynamo = statementsOf("mcp").find((s) => [s.Action].flat().includes("dynamodb:Query"));
    expect(JSON.stringify(dynamo?.Resource)).toContain(`/index/${JOB_TABLE.ownerIndex.name}`);
    expect(JSON.stringify(dynamo?.Resource)).toContain(`/index/${JOB_TABLE.activeIndex.name}`);
    expect(JSON.stringify(dynamo?.Resource)).not.toContain("*");
  });

  it("the worker sends (delayed checks) to its own queue and (notifications) to the notification queue only, and cannot Scan or DeleteItem", () => {
    const statements = statementsOf("worker");
    const actions = actionsOf(statements);
    expect(allows(actions, "sqs:SendMessage")).toBe(true);
    const notifications = logicalIdOf(synth.stack.notifications.queue.node.defaultChild as CfnElement);
    const sends = statements.filter((s) => [s.Action].flat().includes("sqs:SendMessage"));
    expect(sends.map((s) => s.Resource)).toEqual([
      { "Fn::GetAtt": [ids.queue, "Arn"] },
      { "Fn::GetAtt": [notifications, "Arn"] },
    ]);
    const sqs = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith("sqs:")));
    for (const statement of sqs) {
      expect([ids.queue, notifications]).toContain(
        (statement.Resource as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0],
      );
    }
    expect(allows(actions, "sqs:ChangeMessageVisibility")).toBe(true);
    expect(allows(actions, "sqs:DeleteMessage")).toBe(true);
    const onJobs = actionsOf(statementsOn(statements, ids.table));
    for (const forbidden of ["dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"]) {
      expect(allows(onJobs, forbidden), forbidden).toBe(false);
    }
  });

  it("the dead-letter handler reads and updates jobs, consumes only the two dead-letter queues and sends only notifications", () => {
    const statements = statementsOf("deadLetters");
    const actions = actionsOf(statements);
    expect(allows(actions, "dynamodb:UpdateItem")).toBe(true);
    expect(allows(actions, "dynamodb:DeleteItem")).toBe(false);
    const sqs = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith("sqs:")));
    const notifications = logicalIdOf(synth.stack.notifications.queue.node.defaultChild as CfnElement);
    const notificationDlq = logicalIdOf(
      synth.stack.notifications.deadLetterQueue.node.defaultChild as CfnElement,
    );
    expect(sqs.map((s) => s.Resource)).toEqual(
      expect.arrayContaining([
        { "Fn::GetAtt": [ids.dlq, "Arn"] },
        { "Fn::GetAtt": [notifications, "Arn"] },
        { "Fn::GetAtt": [notificationDlq, "Arn"] },
      ]),
    );
    expect(sqs).toHaveLength(3);
    const sends = sqs.filter((s) => allows([s.Action].flat(), "sqs:SendMessage"));
    expect(sends.map((s) => s.Resource)).toEqual([{ "Fn::GetAtt": [notifications, "Arn"] }]);
  });
});

describe("results bucket", () => {
  const bucketArn = (): unknown => ({ "Fn::GetAtt": [ids.bucket, "Arn"] });
  const s3Statements = (fn: "mcp" | "worker" | "deadLetters"): Statement[] =>
    statementsOfRole(
      synth.template,
      roleLogicalId(
        { mcp: synth.stack.endpoint, worker: synth.stack.worker, deadLetters: synth.stack.deadLetterHandler }[
          fn
        ].function.role,
      ),
    ).filter((statement) => [statement.Action].flat().some((action) => action.startsWith("s3:")));

  it("blocks public access, encrypts with S3-managed keys and keeps no versions", () => {
    const props = resource(ids.bucket).Properties;
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(props.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
    });
    expect(props.VersioningConfiguration).toBeUndefined();
    expect(resource(ids.bucket).DeletionPolicy).toBe("Retain");
  });

  it("deletes results one day after the job TTL", () => {
    expect(resource(ids.bucket).Properties.LifecycleConfiguration).toEqual({
      Rules: [expect.objectContaining({ Prefix: RESULT_KEY_PREFIX, ExpirationInDays: 2, Status: "Enabled" })],
    });
    const week = synthStack({ jobTtl: Duration.days(7) });
    week.template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 8 })] },
    });
  });

  it("denies every request that does not use TLS", () => {
    synth.template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Action: "s3:*",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      },
    });
  });

  it("the worker may only PutObject and the MCP function only GetObject, under the results prefix", () => {
    const objects = { "Fn::Join": ["", [bucketArn(), `/${RESULT_KEY_PREFIX}*`]] };
    expect(s3Statements("worker")).toEqual([{ Effect: "Allow", Action: "s3:PutObject", Resource: objects }]);
    expect(s3Statements("mcp")).toEqual([{ Effect: "Allow", Action: "s3:GetObject", Resource: objects }]);
    expect(s3Statements("deadLetters")).toEqual([]);
  });

  it("names the bucket to both functions, and turns presigned links on for the MCP function", () => {
    expect(environmentOf(ids.worker)).toMatchObject({ [ENV.resultBucketName]: { Ref: ids.bucket } });
    expect(environmentOf(ids.mcp)).toMatchObject({
      [ENV.resultBucketName]: { Ref: ids.bucket },
      [ENV.resultPresignedUrls]: "true",
    });
    expect(environmentOf(ids.mcp)).not.toHaveProperty(ENV.resultInlineBytes);
    expect(environmentOf(ids.deadLetters)).not.toHaveProperty(ENV.resultBucketName);
  });

  it("passes resultMaxBytes to the worker and refuses one past 100 MB", () => {
    const custom = synthStack({ resultMaxBytes: 50_000_000 });
    const worker = logicalIdOf(custom.stack.worker.function.node.defaultChild as CfnElement);
    const variables = (
      custom.template.toJSON().Resources[worker].Properties.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(variables[ENV.resultMaxBytes]).toBe("50000000");
    expect(() => synthStack({ resultMaxBytes: 100_000_001 })).toThrow(/resultMaxBytes must be/);
  });
});

describe("front door", () => {
  it("is an HTTP API whose default route reaches the MCP function", () => {
    synth.template.hasResourceProperties("AWS::ApiGatewayV2::Api", { ProtocolType: "HTTP" });
    synth.template.hasResourceProperties("AWS::ApiGatewayV2::Route", { RouteKey: "$default" });
    synth.template.hasResourceProperties("AWS::ApiGatewayV2::Integration", {
      IntegrationType: "AWS_PROXY",
      PayloadFormatVersion: "2.0",
      IntegrationUri: { "Fn::GetAtt": [ids.mcp, "Arn"] },
    });
  });

  it("throttles and writes JSON access logs", () => {
    synth.template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { Format: Match.stringLikeRegexp('^\\{"requestId":"\\$context.requestId"') },
    });
  });
});

describe("alarms and outputs", () => {
  it("alarms on dead-letter depth and on the age of the oldest job message", () => {
    synth.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [ids.dlq, "QueueName"] } }],
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    synth.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS",
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [ids.queue, "QueueName"] } }],
      Threshold: Duration.minutes(30).toSeconds(),
    });
  });

  it("outputs the MCP URL, the table name and the queue URL", () => {
    synth.template.hasOutput("McpUrl", {
      Value: { "Fn::Join": ["", [{ "Fn::GetAtt": [Match.anyValue(), "ApiEndpoint"] }, MCP_PATH]] },
    });
    synth.template.hasOutput("JobTableName", { Value: { Ref: ids.table } });
    synth.template.hasOutput("JobQueueUrl", { Value: { Ref: ids.queue } });
  });
});

describe("props", () => {
  it("derive the visibility timeout from a custom worker timeout, and pass maxReceiveCount and removal policy", () => {
    const custom = synthStack({
      workerTimeout: Duration.seconds(60),
      maxReceiveCount: 3,
      workerBatchSize: 2,
      workerMaxConcurrency: 4,
      removalPolicy: RemovalPolicy.DESTROY,
      callerMaxActiveJobs: 0,
      jobTtl: Duration.hours(2),
    });
    const json = custom.template.toJSON().Resources as Record<
      string,
      { Properties: Record<string, unknown> }
    >;
    const worker = json[logicalIdOf(custom.stack.worker.function.node.defaultChild as CfnElement)];
    const queue = json[logicalIdOf(custom.stack.queue.queue.node.defaultChild as CfnElement)];
    expect(worker?.Properties.Timeout).toBe(60);
    expect(queue?.Properties.VisibilityTimeout).toBe(360);
    expect(queue?.Properties.RedrivePolicy).toMatchObject({ maxReceiveCount: 3 });
    custom.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 2,
      ScalingConfig: { MaximumConcurrency: 4 },
    });
    custom.template.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Delete" });
    custom.template.allResources("AWS::Logs::LogGroup", { DeletionPolicy: "Delete" });
    custom.template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({ [ENV.callerMaxActiveJobs]: "0", [ENV.jobTtlSeconds]: "7200" }),
      },
    });
  });

  it("-c resultMaxBytes and -c resultInlineBytes set the worker's result limits; a bad value is one clear error", () => {
    const fromContext = (context: Record<string, string>): Synthesized => {
      const app = new App({ ...FAST_APP, context: { ...FAST_APP.context, ...context } });
      const stack = new McpAsyncJobsStack(app, "Limits", readAppContext(app.node).props);
      return { app, stack, template: Template.fromStack(stack) };
    };
    const custom = fromContext({ resultMaxBytes: "50000000", resultInlineBytes: "8000" });
    const variablesOf = (fn: CfnElement): Record<string, unknown> =>
      (
        custom.template.toJSON().Resources[logicalIdOf(fn)].Properties.Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
    expect(variablesOf(custom.stack.worker.function.node.defaultChild as CfnElement)).toMatchObject({
      [ENV.resultMaxBytes]: "50000000",
      [ENV.resultInlineBytes]: "8000",
    });
    // The MCP function only reads stored results back: it applies neither limit, so it gets neither.
    const mcp = variablesOf(custom.stack.endpoint.function.node.defaultChild as CfnElement);
    expect(mcp).not.toHaveProperty(ENV.resultMaxBytes);
    expect(mcp).not.toHaveProperty(ENV.resultInlineBytes);

    expect(() => fromContext({ resultMaxBytes: "10MB" })).toThrow(
      'Context "resultMaxBytes" must be a whole number; got "10MB"',
    );
    expect(() => fromContext({ resultMaxBytes: "999" })).toThrow(
      "resultMaxBytes must be a whole number from 1000 to 100000000; got 999",
    );
    expect(() => fromContext({ resultInlineBytes: "16001" })).toThrow(
      "resultInlineBytes must be a whole number from 0 to 16000; got 16001",
    );
  });

  it("reject a job TTL outside 1 h to 7 d and a maxReceiveCount of 0", () => {
    expect(() => synthStack({ jobTtl: Duration.minutes(10) })).toThrow(/jobTtl must be from 3600 to 604800/);
    expect(() => synthStack({ maxReceiveCount: 0 })).toThrow(/maxReceiveCount must be an integer from 1/);
  });
});
