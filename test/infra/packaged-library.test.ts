import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/shared/config/env-names.js";
import { MCP_PATH } from "../../lambdas/shared/config/functions.js";
import type { HttpLambdaHandler } from "../../lambdas/shared/mcp/lambda-http.js";
import type { SqsBatchHandler } from "../../lambdas/shared/worker/sqs-handlers.js";
import { REPO_ROOT } from "../../lib/lambda-function.js";
import { startFunctionUrlServer } from "../../local/function-url-server.js";
import { startSqsPoller } from "../../local/sqs-poller.js";
import { useLocalAws } from "../support/local-aws.js";
import { callForJob, connectClient } from "../support/mcp-stack.js";

const execFileAsync = promisify(execFile);

// Outside the repository: nothing of it can be resolved from here but through the installed tarball.
const WORK_DIR = mkdtempSync(join(tmpdir(), "mcp-async-jobs-pack-"));
const APP_DIR = join(WORK_DIR, "my-cdk-app");
const OUT_DIR = join(APP_DIR, "cdk.out");

afterAll(() => rmSync(WORK_DIR, { recursive: true, force: true }));

interface PackageJson {
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
}

/** Runs a command with npm's own lifecycle variables removed, so `npm test`'s settings reach no child npm. */
async function run(file: string, args: readonly string[], cwd: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_")),
  );
  try {
    return await execFileAsync(file, args, {
      cwd,
      env: {
        ...clean,
        CI: "true",
        CDK_DISABLE_VERSION_CHECK: "true",
        AWS_EC2_METADATA_DISABLED: "true",
        ...env,
      },
      timeout: 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed in ${cwd}:\n${stdout ?? ""}\n${stderr ?? ""}`, {
      cause: error,
    });
  }
}

// The user's project, as the README tells them to write it: its own job type, imported API only.
const USER_FILES: Record<string, string> = {
  "package.json": JSON.stringify({ name: "my-cdk-app", private: true, type: "module" }, null, 2),
  "tsconfig.json": JSON.stringify(
    {
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        skipLibCheck: true,
        types: ["node"],
        outDir: "build",
      },
      include: ["src"],
    },
    null,
    2,
  ),
  "src/job-types.ts": `import { defineJobType, ExternalApiError, type JobType } from "mcp-async-jobs/runtime";
import * as z from "zod";

export const shout = defineJobType({
  name: "shout",
  title: "Shout",
  description: "Upper-cases a text.",
  input: z.object({ text: z.string().min(1) }),
  timeoutMs: 30_000,
  maxAttempts: 1,
  pollAfterSeconds: 1,
  async run({ text }, { progress }) {
    if (text === "refuse") throw new ExternalApiError("the shouting service refused", false);
    await progress({ current: 1, total: 2, message: "shouting" });
    return { shouted: text.toUpperCase() };
  },
});

export const jobTypes: readonly JobType[] = [shout];
`,
  "src/app.ts": `import { App, CfnOutput, RemovalPolicy, Stack } from "aws-cdk-lib";
import { AsyncMcpJobs, type AsyncMcpJobsProps } from "mcp-async-jobs";

const props: AsyncMcpJobsProps = {
  jobTypesModule: "src/job-types.ts",
  includeDemoJobTypes: false,
  auth: { mode: "none", allowUnauthenticated: true },
  removalPolicy: RemovalPolicy.DESTROY,
};
const app = new App();
const stack = new Stack(app, "MyStack");
const jobs = new AsyncMcpJobs(stack, "Jobs", props);
new CfnOutput(stack, "McpUrl", { value: jobs.mcpUrl });
// Refs to the functions: the test finds each bundle from its logical ID.
new CfnOutput(stack, "McpFunction", { value: jobs.mcpFunction.functionName });
new CfnOutput(stack, "WorkerFunction", { value: jobs.workerFunction.functionName });
app.synth();
`,
};

interface Template {
  Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  Outputs: Record<string, { Value: unknown }>;
}

function bundleOf(template: Template, output: string): string {
  const ref = (template.Outputs[output]?.Value as { Ref?: string } | undefined)?.Ref;
  const asset = ref === undefined ? undefined : template.Resources[ref]?.Metadata?.["aws:asset:path"];
  if (asset === undefined) throw new Error(`no bundle for output ${output}`);
  return join(OUT_DIR, asset, "index.mjs");
}

async function importHandler<H>(bundle: string): Promise<H> {
  return ((await import(pathToFileURL(bundle).href)) as { handler: H }).handler;
}

describe("the packed library in a fresh CDK app outside the repository", () => {
  it("installs from the tarball, synthesizes the app's own job type, and its bundles serve and run it", async () => {
    const started = performance.now();
    const lap = (step: string): void =>
      console.info(`${step}: ${((performance.now() - started) / 1000).toFixed(1)} s since start`);

    // prepack builds dist/ first, as from a clean clone.
    await run("npm", ["pack", "--pack-destination", WORK_DIR, "--loglevel", "warn"], REPO_ROOT);
    const tarballs = readdirSync(WORK_DIR).filter((name) => name.endsWith(".tgz"));
    expect(tarballs).toHaveLength(1);
    const tarball = join(WORK_DIR, tarballs[0] as string);
    const { stdout: listing } = await run("tar", ["tzf", tarball], WORK_DIR);
    const files = listing.trim().split("\n");
    console.info(
      `tarball ${tarballs[0]}: ${(statSync(tarball).size / 1024).toFixed(1)} KiB, ${files.length} files`,
    );
    lap("packed");
    expect(files).toEqual(
      expect.arrayContaining([
        "package/package.json",
        "package/dist/lib/index.js",
        "package/dist/lib/index.d.ts",
        "package/dist/lambdas/runtime.js",
        "package/dist/lambdas/runtime.d.ts",
        "package/dist/lambdas/dead-letter/handler.js",
        "package/dist/bin/jobs.js",
      ]),
    );
    // Only the build, the integrations file's JSON Schema and the package's own metadata: no sources,
    // tests, benchmarks or the local stack.
    expect(
      files.filter(
        (file) =>
          !/^package\/(dist\/(lib|lambdas|bin|cli)\/|integrations\/integrations\.schema\.json$|package\.json$|README\.md$)/.test(
            file,
          ),
      ),
    ).toEqual([]);

    for (const [path, content] of Object.entries(USER_FILES)) {
      mkdirSync(join(APP_DIR, path, ".."), { recursive: true });
      writeFileSync(join(APP_DIR, path), content);
    }
    // The versions this repository is tested with, from the npm cache when it has them.
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as PackageJson;
    const versions = { ...pkg.dependencies, ...pkg.devDependencies };
    const pinned = ["aws-cdk-lib", "constructs", "esbuild", "zod", "typescript", "@types/node"].map(
      (name) => `${name}@${versions[name]}`,
    );
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball, ...pinned], APP_DIR);
    lap("installed");

    // The app type-checks against the shipped .d.ts, then runs as plain JavaScript.
    await run(join(APP_DIR, "node_modules/.bin/tsc"), ["-p", "."], APP_DIR);
    lap("type-checked");
    await run("node", ["build/app.js"], APP_DIR, {
      CDK_OUTDIR: OUT_DIR,
      CDK_CONTEXT_JSON: JSON.stringify({ "aws:cdk:enable-asset-metadata": true }),
    });
    lap("synthesized");

    // The generated entries live in the app's own node_modules, under its project root.
    expect(readdirSync(join(APP_DIR, "node_modules/.cache/async-mcp-jobs"))).toHaveLength(1);
    const template = JSON.parse(readFileSync(join(OUT_DIR, "MyStack.template.json"), "utf8")) as Template;
    // The MCP, worker and dead-letter functions (CDK may add helper functions, e.g. for a bucket).
    expect(
      Object.values(template.Resources).filter((r) => r.Type === "AWS::Lambda::Function").length,
    ).toBeGreaterThanOrEqual(3);

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
    const mcpHandler = await importHandler<HttpLambdaHandler>(bundleOf(template, "McpFunction"));
    const workerHandler = await importHandler<SqsBatchHandler>(bundleOf(template, "WorkerFunction"));
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
      // The app's own tool and the job tools; none of the demo types.
      expect(tools.map((tool) => tool.name).sort()).toEqual(
        ["cancel_job", "get_job", "job_stats", "list_jobs", "read_job_result", "start_shout"].sort(),
      );

      const started = await callForJob(client, "start_shout", { text: "packed and run" });
      const done = await callForJob(client, "get_job", { jobId: started.jobId, waitSeconds: 20 });
      expect(done.status).toBe("completed");
      expect(done.result).toEqual({ shouted: "PACKED AND RUN" });

      // The package's `jobs` bin runs from the install (built JavaScript, no tsx) and follows the job.
      const { stdout: cliOut } = await run(
        join(APP_DIR, "node_modules/.bin/jobs"),
        ["start", "shout", "--arg", "text=from the cli", "--wait", "--url", `${server.origin}${MCP_PATH}`],
        APP_DIR,
      );
      expect(JSON.parse(cliOut)).toMatchObject({
        status: "completed",
        result: { shouted: "FROM THE CLI" },
      });

      // The ExternalApiError the app imports is the worker's own class: the job fails with its code.
      const refused = await callForJob(client, "start_shout", { text: "refuse" });
      const failed = await callForJob(client, "get_job", { jobId: refused.jobId, waitSeconds: 20 });
      expect(failed.status).toBe("failed");
      expect(failed.error).toMatchObject({ code: "external_api_error", retryable: false });
    } finally {
      await client?.close();
      await worker.stop();
      await server.close();
    }
    lap("served and ran the job (total)");
  }, 900_000);
});
