import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JOB_STATUSES, type JobView } from "../../lambdas/shared/domain/job.js";
import { resultKey } from "../../lambdas/shared/domain/results.js";
import type { LocalStack } from "../../local/local-stack.js";
import { callForJob, callTool, connectClient, startTestStack } from "../support/mcp-stack.js";

/** The `jobs` CLI as a user runs it from a clone: a real process, tsx, real MCP over HTTP. */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const JOBS = ["--import", "tsx", "bin/jobs.ts"];

interface Run {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();

function jobs(args: readonly string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MCP_API_KEY;
  const child = spawn(process.execPath, [...JOBS, "--url", stack.mcpUrl, ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const stdout: Buffer[] = [];
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<Run>((resolve) =>
    child.once("close", (code) => {
      children.delete(child);
      resolve({ code, stdout: Buffer.concat(stdout), stderr });
    }),
  );
}

function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

let stack: LocalStack;
let client: Client;
const dir = mkdtempSync(join(tmpdir(), "jobs-result-"));

async function untilEnded(jobId: string): Promise<JobView> {
  for (let i = 0; i < 12; i++) {
    const job = await callForJob(client, "get_job", { jobId, waitSeconds: 20 });
    if (!["queued", "running"].includes(job.status)) return job;
  }
  throw new Error(`job ${jobId} did not end`);
}

beforeAll(async () => {
  // Room for a 10 MB export beside the default maximum.
  stack = await startTestStack({ env: { JOB_RESULT_MAX_BYTES: String(20_000_000) } });
  client = await connectClient(stack.mcpUrl);
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await client?.close();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("jobs stats and jobs result against the local stack", { timeout: 300_000 }, () => {
  let failedJobId = "";

  it("jobs stats counts the caller's jobs as list_jobs shows them, by status and by type", async () => {
    const starts: Array<[string, Record<string, unknown>]> = [
      ["start_slow_api", { query: "a", delaySeconds: 0 }],
      ["start_slow_api", { query: "b", delaySeconds: 0 }],
      ["start_failing_api", { query: "c", delaySeconds: 0 }],
      ["start_flaky_api", { query: "d", delaySeconds: 0, failTimes: 1 }],
      ["start_hung_api", { query: "e" }],
    ];
    const started = await Promise.all(starts.map(([tool, args]) => callForJob(client, tool, args)));
    const hung = started[4] as JobView;
    await callForJob(client, "cancel_job", { jobId: hung.jobId });
    const ended = await Promise.all(started.slice(0, 4).map((job) => untilEnded(job.jobId)));
    failedJobId = ended[2]?.jobId ?? "";
    // One still waiting: a slow job that runs on while stats and list are read.
    await callForJob(client, "start_slow_api", { query: "f", delaySeconds: 60 });

    const listed = (await callTool(client, "list_jobs", { limit: 100 })).structured as { jobs: JobView[] };
    const run = await jobs(["stats", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const stats = JSON.parse(run.stdout.toString()) as {
      jobsCounted: number;
      byStatus: Record<string, number>;
      byType: Record<string, Record<string, number>>;
      timeQueuedMs: { count: number; p50?: number; p99?: number };
      runTimeMs: { count: number; p50?: number };
    };
    const statusesOf = (views: readonly JobView[]) =>
      Object.fromEntries(
        JOB_STATUSES.map((status) => [status, views.filter((j) => j.status === status).length]),
      );
    expect(stats.jobsCounted).toBe(listed.jobs.length);
    expect(stats.jobsCounted).toBe(6);
    // A slow job may move from queued to running between the two reads; the ended ones cannot.
    const open = (counts: Record<string, number | undefined>) => (counts.queued ?? 0) + (counts.running ?? 0);
    const listedCounts = statusesOf(listed.jobs);
    expect({ ...stats.byStatus, queued: 0, running: 0 }).toEqual({ ...listedCounts, queued: 0, running: 0 });
    expect(open(stats.byStatus)).toBe(open(listedCounts));
    expect(stats.byStatus).toMatchObject({ completed: 3, failed: 1, cancelled: 1 });
    for (const type of new Set(listed.jobs.map((job) => job.type))) {
      expect(stats.byType[type]?.total, type).toBe(listed.jobs.filter((job) => job.type === type).length);
    }
    expect(stats.byType.slow_api).toMatchObject({ total: 3, completed: 2 });
    // Percentiles over the jobs that were claimed, and over those that ran to an end.
    const claimed = listed.jobs.filter((job) => job.startedAt !== undefined);
    expect(stats.timeQueuedMs.count).toBe(claimed.length);
    expect(stats.runTimeMs.count).toBe(claimed.filter((job) => job.finishedAt !== undefined).length);
    expect(stats.timeQueuedMs.p99).toBeGreaterThanOrEqual(stats.timeQueuedMs.p50 ?? 0);

    // The table shows the same numbers.
    const table = await jobs(["stats"]);
    expect(table.code, table.stderr).toBe(0);
    const text = table.stdout.toString();
    expect(text).toMatch(/^Your 6 most recent jobs, started /);
    expect(text).toMatch(/\nall\s+6\s+\d+\s+\d+\s+3\s+1\s+1\n/);
    expect(text).toMatch(/\nslow_api\s+3\s/);
    expect(text).toMatch(/\ntime queued\s+\d+\s+\d+ ms/);
  });

  it("jobs result writes a 10 MB stored result whose SHA-256 is resultSha256", async () => {
    const started = await callForJob(client, "start_export_api", {
      query: "q".repeat(22),
      rows: 200_000,
      delaySeconds: 0,
    });
    const job = await untilEnded(started.jobId);
    expect(job.status).toBe("completed");
    expect(job.resultStored).toBe("s3");
    expect(job.resultBytes).toBeGreaterThan(10_000_000);

    const file = join(dir, "export.json");
    const run = await jobs(["result", job.jobId, "-o", file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe(`Wrote ${job.resultBytes} bytes to ${file}, SHA-256 checked.\n`);
    const written = readFileSync(file);
    expect(written.length).toBe(job.resultBytes);
    expect(sha256(written)).toBe(job.resultSha256);
    expect((JSON.parse(written.toString("utf8")) as { rows: unknown[] }).rows).toHaveLength(200_000);
  });

  it("jobs result prints an inline result to stdout exactly as the job stored it", async () => {
    const started = await callForJob(client, "start_slow_api", { query: "inline", delaySeconds: 0 });
    const job = await untilEnded(started.jobId);
    const run = await jobs(["result", job.jobId]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.toString()).toBe(JSON.stringify(job.result));
  });

  it("a stored result that does not match its SHA-256 exits 3 and writes nothing", async () => {
    const started = await callForJob(client, "start_export_api", {
      query: "x",
      rows: 2_000,
      delaySeconds: 0,
    });
    const job = await untilEnded(started.jobId);
    expect(job.resultStored).toBe("s3");
    // The object changes under the row: same length, other bytes.
    const key = { Bucket: stack.resources.resultBucketName, Key: resultKey(job.jobId) };
    const object = await stack.clients.s3.send(new GetObjectCommand(key));
    const original = await object.Body?.transformToString("utf8");
    const tampered = (original ?? "").replace('"x #1"', '"y #1"');
    expect(tampered).not.toBe(original);
    await stack.clients.s3.send(
      new PutObjectCommand({ ...key, Body: tampered, ContentType: "application/json" }),
    );

    const file = join(dir, "tampered.json");
    const run = await jobs(["result", job.jobId, "-o", file]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(
      /^jobs: the result read for job .* does not match its resultSha256 .*nothing was written\n$/,
    );
    expect(existsSync(file)).toBe(false);
  });

  it("a job that failed has no result: exit 1 and a one-line reason", async () => {
    const run = await jobs(["result", failedJobId]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`jobs: job ${failedJobId} is failed: it has no result\n`);
    expect(run.stdout.length).toBe(0);
  });
});
