import { createHash, randomBytes } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { type CallToolResult, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_ANSWER_CHARS } from "../../lambdas/shared/config/table-schema.js";
import { resultKey } from "../../lambdas/shared/domain/results.js";
import type { LocalStack } from "../../local/local-stack.js";
import type { LocalAws } from "../support/local-aws.js";
import { connectClient, startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated } from "../support/nothing-created.js";
import { rawItem, TestClock } from "../support/worker-kit.js";

const ALICE_KEY = `alice-${randomBytes(16).toString("hex")}`;
const BOB_KEY = `bob-${randomBytes(16).toString("hex")}`;
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";
/** Small enough that 200 000 rows (about 7.7 MB) pass it and 100 000 rows (about 3.7 MB) do not. */
const MAX_BYTES = 5_000_000;

/** Hundreds of sequential calls: generous on a loaded machine, and ends as soon as the work does. */
const LONG_TEST_MS = 180_000;

/** Every answer this file's session received, to check the size bound over all of them. */
const answers: Array<{ readonly tool: string; readonly result: CallToolResult }> = [];

let stack: LocalStack;
let alice: Client;
let bob: Client;
const clock = new TestClock();

/** The result export_api promises, built independently of the job type. */
function expectedExport(query: string, rows: number): string {
  const list = [];
  for (let n = 1; n <= rows; n++) list.push({ n, text: `${query} #${n}` });
  return JSON.stringify({ rows: list });
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

async function call(client: Client, tool: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const result = (await client.callTool({ name: tool, arguments: args }, undefined, {
    timeout: 45_000,
  })) as CallToolResult;
  answers.push({ tool, result });
  return result;
}

function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === "text" ? first.text : "";
}

async function structured(
  client: Client,
  tool: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const result = await call(client, tool, args);
  if (result.isError) throw new Error(`${tool} answered an error: ${textOf(result)}`);
  return result.structuredContent as Record<string, unknown>;
}

/** Starts an export and waits for its end. */
async function runExport(client: Client, query: string, rows: number): Promise<Record<string, unknown>> {
  const started = await structured(client, "start_export_api", { query, rows, delaySeconds: 0 });
  for (let i = 0; i < 6; i++) {
    const job = await structured(client, "get_job", { jobId: started.jobId, waitSeconds: 20 });
    if (!["queued", "running"].includes(String(job.status))) return job;
  }
  throw new Error(`export ${String(started.jobId)} did not end`);
}

/** Reads a result page by page from offset 0; returns the joined text and the pages. */
async function readAll(
  client: Client,
  jobId: string,
  maxBytes?: number,
): Promise<{ text: string; pages: Array<Record<string, unknown>> }> {
  const pages: Array<Record<string, unknown>> = [];
  let offset: number | undefined = 0;
  while (offset !== undefined) {
    const page = await structured(client, "read_job_result", {
      jobId,
      offset,
      ...(maxBytes !== undefined ? { maxBytes } : {}),
    });
    expect(page.offset).toBe(offset);
    pages.push(page);
    offset = page.nextOffset as number | undefined;
    expect(pages.length).toBeLessThan(2_000);
  }
  return { text: pages.map((page) => page.text).join(""), pages };
}

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      AUTH_MODE: "api-key",
      API_KEYS: `alice:${ALICE_KEY},bob:${BOB_KEY}`,
      JOB_RESULT_MAX_BYTES: String(MAX_BYTES),
      // As deployed: answers about stored results carry a presigned link (fauxqs serves the S3 GET).
      JOB_RESULT_PRESIGNED_URLS: "true",
    },
    clock,
  });
  alice = await connectClient(stack.mcpUrl, { authorization: `Bearer ${ALICE_KEY}` });
  bob = await connectClient(stack.mcpUrl, { authorization: `Bearer ${BOB_KEY}` });
});

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await stack?.stop();
});

describe("large results through the MCP endpoint", () => {
  /** The 100 000-row export several tests read: started by whichever test needs it first. */
  let bigJob: Promise<Record<string, unknown>> | undefined;
  const bigJobId = async (): Promise<string> => {
    bigJob ??= runExport(alice, "report", 100_000);
    return String((await bigJob).jobId);
  };

  it(
    "export_api with 100 000 rows completes with the result in S3, and paging reassembles it exactly",
    async () => {
      const expected = expectedExport("report", 100_000);
      expect(Buffer.byteLength(expected)).toBeGreaterThan(3_000_000);

      const id = await bigJobId();
      const job = await structured(alice, "get_job", { jobId: id });
      expect(job).toMatchObject({
        status: "completed",
        resultStored: "s3",
        resultBytes: Buffer.byteLength(expected),
        resultSha256: sha256(expected),
      });
      expect(job).not.toHaveProperty("result");
      expect(String(job.resultHint)).toMatch(/read_job_result/);

      const { text, pages } = await readAll(alice, id);
      expect(text).toBe(expected);
      expect(pages.every((page) => page.totalBytes === Buffer.byteLength(expected))).toBe(true);
      expect(pages.at(-1)).not.toHaveProperty("nextOffset");
      // Full pages of 16 000 bytes (or a little less, where escaping the quotes would pass the answer bound).
      expect(pages.length).toBeLessThan(Math.ceil(Buffer.byteLength(expected) / 12_000));

      // The SHA-256 the row keeps matches what was reassembled and what S3 holds.
      const aws: LocalAws = { ...stack.clients, resources: stack.resources, endpoints: stack.endpoints };
      const row = await rawItem(aws, id);
      expect(row?.resultRef).toMatchObject({
        key: resultKey(id),
        bytes: Buffer.byteLength(expected),
        sha256: sha256(text),
      });
      expect(row).not.toHaveProperty("resultJson");
      const object = await stack.clients.s3.send(
        new GetObjectCommand({ Bucket: stack.resources.resultBucketName, Key: resultKey(id) }),
      );
      expect(
        sha256(await (object.Body as { transformToString(): Promise<string> }).transformToString()),
      ).toBe(sha256(expected));
    },
    LONG_TEST_MS,
  );

  it(
    "carries a presigned link to the whole result as a resource_link and in the text",
    async () => {
      const id = await bigJobId();
      const result = await call(alice, "get_job", { jobId: id });
      const job = result.structuredContent as Record<string, unknown>;
      const url = String(job.resultUrl);
      expect(url).toMatch(/X-Amz-Signature=/);
      expect(url).toMatch(/X-Amz-Expires=900/);
      expect(Date.parse(String(job.resultUrlExpiresAt)) - clock.now()).toBeGreaterThan(14 * 60_000);
      expect(textOf(result)).toContain(url);
      expect(result.content).toContainEqual(
        expect.objectContaining({ type: "resource_link", uri: url, mimeType: "application/json" }),
      );
      // The URL serves the whole object (fauxqs ignores the signature; AWS checks it and its expiry).
      expect(new URL(url).hostname).toBe("127.0.0.1");
      const download = await fetch(url);
      expect(download.status).toBe(200);
      expect(sha256(await download.text())).toBe(job.resultSha256);

      const page = await call(alice, "read_job_result", { jobId: id, maxBytes: 10 });
      expect(page.content).toContainEqual(expect.objectContaining({ type: "resource_link" }));
    },
    LONG_TEST_MS,
  );

  it(
    "tasks/result for a stored result carries get_job's hint and link, as text and as a resource_link",
    async () => {
      const id = await bigJobId();
      const getJob = await call(alice, "get_job", { jobId: id });
      const viaTask = await alice.experimental.tasks.getTaskResult(id, CallToolResultSchema);
      const job = getJob.structuredContent as Record<string, unknown>;
      const task = viaTask.structuredContent as Record<string, unknown>;
      expect(task).toMatchObject({ jobId: id, resultStored: "s3", resultHint: job.resultHint });
      expect(String(task.resultHint)).toMatch(/read_job_result/);
      // A link is minted per answer: the same object, signed again.
      const url = String(task.resultUrl);
      expect(url).toMatch(/X-Amz-Signature=/);
      expect(url.split("?")[0]).toBe(String(job.resultUrl).split("?")[0]);
      expect(Date.parse(String(task.resultUrlExpiresAt)) - clock.now()).toBeGreaterThan(14 * 60_000);
      expect(textOf(viaTask)).toContain(url);
      expect(viaTask.content).toContainEqual(
        expect.objectContaining({ type: "resource_link", uri: url, mimeType: "application/json" }),
      );
      const { resultUrl: _taskUrl, resultUrlExpiresAt: _taskExpiry, ...taskRest } = task;
      const { resultUrl: _jobUrl, resultUrlExpiresAt: _jobExpiry, ...jobRest } = job;
      expect(taskRest).toEqual(jobRest);
    },
    LONG_TEST_MS,
  );

  it(
    "pages cut on UTF-8 boundaries: offsets are bytes, every character arrives whole",
    async () => {
      const query = 'naïve 日本 🚀 "q" \\';
      const job = await runExport(alice, query, 500);
      expect(job.resultStored).toBe("s3");
      const expected = expectedExport(query, 500);
      // Small odd pages land inside multi-byte characters often; the reader moves each cut back.
      const { text, pages } = await readAll(alice, String(job.jobId), 333);
      expect(text).toBe(expected);
      for (const page of pages) expect(Buffer.byteLength(String(page.text))).toBeLessThanOrEqual(333);
      // An offset inside a character is refused with a clear message.
      const inside = Buffer.from(expected).indexOf(Buffer.from("日")) + 1;
      const refused = await call(alice, "read_job_result", { jobId: job.jobId, offset: inside });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toMatch(/inside a character/);
    },
    LONG_TEST_MS,
  );

  it("a small result stays inline and reads the same way in one page", async () => {
    const job = await runExport(alice, "small", 3);
    expect(job.result).toEqual(JSON.parse(expectedExport("small", 3)));
    expect(job).not.toHaveProperty("resultStored");
    const page = await structured(alice, "read_job_result", { jobId: job.jobId });
    expect(page).toEqual({
      jobId: job.jobId,
      offset: 0,
      totalBytes: Buffer.byteLength(expectedExport("small", 3)),
      text: expectedExport("small", 3),
    });
  });

  it("a result over JOB_RESULT_MAX_BYTES fails the job with result_too_large", async () => {
    const job = await runExport(alice, "huge", 200_000);
    expect(job).toMatchObject({
      status: "failed",
      error: { code: "result_too_large", retryable: false },
    });
    expect(String((job.error as { message: string }).message)).toMatch(String(MAX_BYTES));
    const read = await call(alice, "read_job_result", { jobId: job.jobId });
    expect(read.isError).toBe(true);
    expect(textOf(read)).toMatch(/no result/);
  });

  it(
    "another caller's, an unknown and a still-running job's result is not readable, and nothing is created",
    async () => {
      const id = await bigJobId();
      for (const [client, jobId] of [
        [alice, UNKNOWN_ID],
        [bob, id],
      ] as const) {
        const answer = await expectNothingCreated(stack, () => call(client, "read_job_result", { jobId }));
        expect(answer.isError).toBe(true);
        expect(textOf(answer)).toBe(`Job ${jobId} was not found or has expired.`);
        expect(textOf(answer)).toBe(textOf(await call(client, "get_job", { jobId })));
        expect(answer.structuredContent).toBeUndefined();
      }

      const bad = await expectNothingCreated(stack, () =>
        call(alice, "read_job_result", { jobId: id, maxBytes: 16_001 }),
      );
      expect(bad.isError).toBe(true);
      expect(textOf(bad)).toMatch(/maxBytes/);
      const past = await call(alice, "read_job_result", { jobId: id, offset: 10_000_000 });
      expect(textOf(past)).toMatch(/past the end/);

      const open = await structured(alice, "start_export_api", { query: "later", rows: 5, delaySeconds: 30 });
      const early = await call(alice, "read_job_result", { jobId: open.jobId });
      expect(early.isError).toBe(true);
      expect(textOf(early)).toMatch(/no result yet/);
      await call(alice, "cancel_job", { jobId: open.jobId });
    },
    LONG_TEST_MS,
  );

  it(
    "list_jobs shrinks a page that would pass the bound and pages on with its cursor",
    async () => {
      // About 330 characters a job: 100 of them would make a 33 000-character answer.
      const started: string[] = [];
      for (let batch = 0; batch < 10; batch++) {
        const jobs = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            structured(alice, "start_slow_api", { query: `q${batch * 10 + i}`, delaySeconds: 0 }),
          ),
        );
        started.push(...jobs.map((job) => String(job.jobId)));
      }
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await structured(alice, "list_jobs", { limit: 100, ...(cursor ? { cursor } : {}) });
        const jobs = page.jobs as Array<{ jobId: string }>;
        expect(jobs.length).toBeGreaterThan(0);
        seen.push(...jobs.map((job) => job.jobId));
        sizes.push(jobs.length);
        cursor = page.nextCursor as string | undefined;
      } while (cursor !== undefined && sizes.length < 20);
      expect(sizes[0]).toBeLessThan(100);
      expect(cursor).toBeUndefined();
      // Every job once, newest first, none skipped or repeated across the shrunk pages.
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.slice(0, 100).sort()).toEqual([...started].sort());
    },
    LONG_TEST_MS,
  );

  it(
    "an expired job's result is not readable",
    async () => {
      const id = await bigJobId();
      clock.advance(25 * 3600_000);
      const expired = await call(alice, "read_job_result", { jobId: id });
      expect(expired.isError).toBe(true);
      expect(textOf(expired)).toMatch(/not found or has expired/);
      const view = await call(alice, "get_job", { jobId: id });
      expect(textOf(view)).toBe(textOf(expired));
    },
    LONG_TEST_MS,
  );

  it("every answer of this session stays under 20 000 characters, and text and structuredContent agree", () => {
    expect(answers.length).toBeGreaterThan(250);
    for (const { tool, result } of answers) {
      for (const item of result.content) {
        if (item.type === "text") expect(item.text.length, tool).toBeLessThan(MAX_ANSWER_CHARS);
      }
      if (!result.isError) expect(JSON.parse(textOf(result)), tool).toEqual(result.structuredContent);
    }
  });
});
