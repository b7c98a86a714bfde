import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { App, type CfnElement, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { Construct } from "constructs";
import { afterAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/config/env-names.js";
import { MCP_PATH } from "../../lambdas/shared/config/functions.js";
import type { HttpLambdaHandler } from "../../lambdas/shared/mcp/lambda-http.js";
import type { SqsBatchHandler } from "../../lambdas/shared/worker/sqs-handlers.js";
import { AsyncMcpJobs, type AsyncMcpJobsProps } from "../../lib/async-mcp-jobs.js";
import { addComplianceChecks } from "../../lib/compliance.js";
import type { ServiceFunction } from "../../lib/lambda-function.js";
import { startFunctionUrlServer } from "../../local/function-url-server.js";
import { startSqsPoller } from "../../local/sqs-poller.js";
import { useLocalAws } from "../support/local-aws.js";
import { callForJob, connectClient } from "../support/mcp-stack.js";
import { FAST_APP, synthStack } from "./synth.js";

const JOB_TYPES_MODULE = join(import.meta.dirname, "../fixtures/word-count-job-types.ts");
const LIBRARY_PROPS: AsyncMcpJobsProps = {
  jobTypesModule: JOB_TYPES_MODULE,
  includeDemoJobTypes: false,
  auth: { mode: "none", allowUnauthenticated: true },
};

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** A user's own stack holding the construct, as in the README. */
function userApp(
  props: AsyncMcpJobsProps,
  options: { bundle?: boolean } = {},
): { app: App; jobs: AsyncMcpJobs } {
  const outdir = mkdtempSync(join(tmpdir(), "async-mcp-jobs-"));
  outdirs.push(outdir);
  const app = options.bundle
    ? // Asset metadata (as `cdk synth` records it) names each function's bundle directory.
      new App({
        outdir,
        builtinCloudFormationValidation: false,
        context: { "aws:cdk:enable-asset-metadata": true },
      })
    : new App({ ...FAST_APP, outdir });
  const stack = new Stack(app, "UserStack");
  const jobs = new AsyncMcpJobs(stack, "Jobs", props);
  addComplianceChecks(app);
  return { app, jobs };
}

describe("AsyncMcpJobs in a user's stack", () => {
  it("synthesizes nag-clean and exposes the URL, table, queue and functions", () => {
    const { app, jobs } = userApp(LIBRARY_PROPS);
    expect(() => app.synth()).not.toThrow();
    const template = Template.fromStack(Stack.of(jobs));
    // MCP, worker, dead-letter handler and the completion-webhook delivery function.
    template.resourceCountIs("AWS::Lambda::Function", 4);
    // The job table and the MCP Events subscription table.
    template.resourceCountIs("AWS::DynamoDB::Table", 2);
    expect(jobs.mcpUrl).toContain(MCP_PATH);
    // The names are tokens: they must resolve to the resources in the template, not to anything else.
    const stack = Stack.of(jobs);
    const refOf = (construct: Construct): unknown => ({
      Ref: stack.getLogicalId(construct.node.defaultChild as CfnElement),
    });
    expect(stack.resolve(jobs.table.table.tableName)).toEqual(refOf(jobs.table.table));
    expect(stack.resolve(jobs.queue.queue.queueUrl)).toEqual(refOf(jobs.queue.queue));
    expect(refOf(jobs.queue.queue)).not.toEqual(refOf(jobs.notifications.queue));
    expect(jobs.mcpFunction).toBe(jobs.endpoint.function);
    expect(jobs.workerFunction).toBe(jobs.worker.function);
    expect(jobs.deadLetterFunction).toBe(jobs.deadLetterHandler.function);
    expect(stack.resolve(jobs.notifications.queue.queueUrl)).toEqual(refOf(jobs.notifications.queue));
  });

  it("refuses to serve no job types at all, naming the props to set", () => {
    expect(() => userApp({ includeDemoJobTypes: false })).toThrow(
      /jobTypesModule.*includeDemoJobTypes: true/,
    );
  });

  it("refuses a job-types module that does not exist, naming its path", () => {
    expect(() => userApp({ jobTypesModule: "no/such/job-types.ts" })).toThrow(
      /no\/such\/job-types\.ts does not exist/,
    );
  });
});

describe("McpAsyncJobsStack around AsyncMcpJobs", () => {
  it("keeps the logical IDs its resources had as the stack's own children", () => {
    const { template } = synthStack();
    const ids = Object.keys(template.toJSON().Resources as Record<string, unknown>);
    // No "Default" (the construct's id) in them: CDK leaves that path segment out.
    expect(ids).toEqual(
      expect.arrayContaining([
        "JobsTable10C8EDF6",
        "JobQueue67926FCA",
        "JobQueueDeadLetterQueue653C121A",
        "McpFunctionD30E3E93",
        "McpApi2F39B1D0",
        "WorkerFunctionAF8A26AF",
        "DeadLettersFunctionBF80D8DA",
        "AuthApiKeys5D2411D1",
        "AlarmsDeadLetterDepth8A0F733D",
      ]),
    );
  });
});

type BundleModule<H> = { handler: H };

async function importBundle<H>(fn: ServiceFunction, outdir: string): Promise<H> {
  return ((await import(pathToFileURL(assetPath(fn, outdir)).href)) as BundleModule<H>).handler;
}

/** The bundle of a function, from the asset path the synthesized template names. */
function assetPath(fn: ServiceFunction, outdir: string): string {
  const template = Template.fromStack(Stack.of(fn)).toJSON() as {
    Resources: Record<string, { Metadata?: Record<string, string> }>;
  };
  const id = Stack.of(fn).getLogicalId(fn.node.defaultChild as never);
  const asset = template.Resources[id]?.Metadata?.["aws:asset:path"];
  if (asset === undefined) throw new Error(`no asset for ${id}`);
  return join(outdir, asset, "index.mjs");
}

describe("the bundles AsyncMcpJobs synthesizes from the user's job-types module", () => {
  it("serve only the user's start tool and run its job to completion on the local emulators", async () => {
    const { app, jobs } = userApp(LIBRARY_PROPS, { bundle: true });
    const outdir = app.synth().directory;

    const aws = await useLocalAws();
    // The functions read only their environment, as Lambda runs them.
    Object.assign(process.env, {
      [ENV.tableName]: aws.resources.tableName,
      [ENV.queueUrl]: aws.resources.queueUrl,
      [ENV.awsEndpointDynamoDb]: aws.endpoints.dynamoEndpoint,
      [ENV.awsEndpointSqs]: aws.endpoints.sqsEndpoint,
      [ENV.authMode]: "none",
      POWERTOOLS_LOG_LEVEL: "WARN",
      AWS_REGION: aws.endpoints.region,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    const mcpHandler = await importBundle<HttpLambdaHandler>(jobs.mcpFunction, outdir);
    const workerHandler = await importBundle<SqsBatchHandler>(jobs.workerFunction, outdir);

    const server = await startFunctionUrlServer({
      port: 0,
      maxBodyBytes: 1024 * 1024,
      functionTimeoutMs: 30_000,
      handler: mcpHandler,
    });
    const worker = startSqsPoller({
      sqs: aws.sqs,
      queueUrl: aws.resources.queueUrl,
      queueArn: aws.resources.queueArn,
      handler: workerHandler,
      region: aws.endpoints.region,
    });
    let client: Client | undefined;
    try {
      client = await connectClient(`${server.origin}${MCP_PATH}`);
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual(
        ["cancel_job", "get_job", "job_stats", "list_jobs", "read_job_result", "start_word_count"].sort(),
      );
      const started = await callForJob(client, "start_word_count", { text: "bundled and run" });
      const done = await callForJob(client, "get_job", { jobId: started.jobId, waitSeconds: 20 });
      expect(done.status).toBe("completed");
      expect(done.result).toEqual({ words: 3 });
    } finally {
      await client?.close();
      await worker.stop();
      await server.close();
    }
  }, 300_000);
});
