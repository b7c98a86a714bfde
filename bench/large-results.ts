import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { connectClient } from "../cli/mcp-client.js";
import { S3ResultStore } from "../lambdas/shared/adapters/s3-result-store.js";
import { DEFAULT_RESULT_MAX_BYTES, MAX_ANSWER_CHARS } from "../lambdas/shared/config/table-schema.js";
import { RESULT_CONTENT_TYPE } from "../lambdas/shared/domain/results.js";
import type { BenchStack } from "./stack.js";
import { type Summary, summarize } from "./stats.js";

export interface LargeResultsResult {
  /** Rows of the export and the size of its JSON text (just under the default maximum). */
  readonly rows: number;
  readonly resultBytes: number;
  /** PutObject of the whole result through the worker's adapter, straight to the emulator's S3. */
  readonly putMs: Summary;
  /** start_export_api → completed answer (generating, hashing, storing and recording the result). */
  readonly startToCompletedMs: number;
  /** Every read_job_result call from offset 0 to the end, one client, one after another. */
  readonly pages: number;
  readonly pageMs: Summary;
  readonly readAllMs: number;
  /** Text characters of each read_job_result answer, and of the get_job answer for the job. */
  readonly pageChars: Summary;
  readonly getJobChars: number;
  readonly maxAnswerChars: number;
  /** The reassembled text equals the expected export. */
  readonly reassembledExactly: boolean;
}

const PUT_SAMPLES = 5;
const ROWS = 200_000;

function exportJson(query: string, rows: number): string {
  const list = [];
  for (let n = 1; n <= rows; n++) list.push({ n, text: `${query} #${n}` });
  return JSON.stringify({ rows: list });
}

/** The longest query whose 200 000-row export stays within the default maximum result size. */
function queryForMaxSize(): { query: string; expected: string } {
  for (let length = 40; length > 0; length--) {
    const query = "q".repeat(length);
    const expected = exportJson(query, ROWS);
    if (Buffer.byteLength(expected) <= DEFAULT_RESULT_MAX_BYTES) return { query, expected };
  }
  throw new Error("no query fits");
}

function firstText(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === "text" ? first.text : "";
}

/** Stores and pages through a result of about 10 MB (the default JOB_RESULT_MAX_BYTES). */
export async function measureLargeResults(stack: BenchStack): Promise<LargeResultsResult> {
  const { query, expected } = queryForMaxSize();
  const resultBytes = Buffer.byteLength(expected);

  const store = new S3ResultStore({ client: stack.clients.s3, bucketName: stack.resources.resultBucketName });
  const putMs: number[] = [];
  for (let i = 0; i < PUT_SAMPLES; i++) {
    const started = performance.now();
    await store.put(`bench/put-${i}.json`, expected, RESULT_CONTENT_TYPE);
    putMs.push(performance.now() - started);
  }

  const client = await connectClient(stack.mcpUrl);
  try {
    const call = async (name: string, args: Record<string, unknown>): Promise<CallToolResult> => {
      const result = (await client.callTool({ name, arguments: args }, undefined, {
        timeout: 60_000,
      })) as CallToolResult;
      if (result.isError) throw new Error(`${name} answered an error: ${firstText(result)}`);
      return result;
    };
    const started = performance.now();
    const start = await call("start_export_api", { query, rows: ROWS, delaySeconds: 0 });
    const jobId = String((start.structuredContent as { jobId: string }).jobId);
    let job: CallToolResult = start;
    for (let i = 0; i < 10; i++) {
      job = await call("get_job", { jobId, waitSeconds: 25 });
      if ((job.structuredContent as { status: string }).status === "completed") break;
    }
    const startToCompletedMs = performance.now() - started;
    if ((job.structuredContent as { status: string }).status !== "completed") {
      throw new Error(`export ${jobId} did not complete: ${firstText(job)}`);
    }

    const pageMs: number[] = [];
    const pageChars: number[] = [];
    const parts: string[] = [];
    const readStarted = performance.now();
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const before = performance.now();
      const page = await call("read_job_result", { jobId, offset });
      pageMs.push(performance.now() - before);
      pageChars.push(firstText(page).length);
      const content = page.structuredContent as { text: string; nextOffset?: number };
      parts.push(content.text);
      offset = content.nextOffset;
    }
    const readAllMs = performance.now() - readStarted;
    const getJobChars = firstText(job).length;

    return {
      rows: ROWS,
      resultBytes,
      putMs: summarize(putMs),
      startToCompletedMs: Math.round(startToCompletedMs),
      pages: pageMs.length,
      pageMs: summarize(pageMs),
      readAllMs: Math.round(readAllMs),
      pageChars: summarize(pageChars),
      getJobChars,
      maxAnswerChars: Math.max(getJobChars, ...pageChars, firstText(start).length),
      reassembledExactly: parts.join("") === expected,
    };
  } finally {
    await client.close();
  }
}

export function largeResultsSection(l: LargeResultsResult | undefined): string {
  if (l === undefined) return "";
  const mb = (l.resultBytes / 1_000_000).toFixed(2);
  return [
    "## 7. Large results",
    "",
    `One \`export_api\` job of ${l.rows} rows: ${l.resultBytes} bytes of JSON (${mb} MB, just under the default \`JOB_RESULT_MAX_BYTES\`), stored in the emulator's S3 and read back page by page through the MCP endpoint with \`read_job_result\` (default maxBytes, one client, one page after another). Every answer is bounded at ${MAX_ANSWER_CHARS} characters of text.`,
    "",
    "| Measure | Value |",
    "|---|---|",
    `| PutObject of the whole result (worker's adapter, n = ${l.putMs.n}) | p50 ${l.putMs.p50.toFixed(0)} ms, max ${l.putMs.max.toFixed(0)} ms |`,
    `| start_export_api → completed answer (build rows, hash, PutObject, row update) | ${(l.startToCompletedMs / 1000).toFixed(2)} s |`,
    `| Pages to read it all | ${l.pages} |`,
    `| One read_job_result page (ranged GetObject + answer) | p50 ${l.pageMs.p50.toFixed(1)} ms, p95 ${l.pageMs.p95.toFixed(1)} ms |`,
    `| Reading the whole result, page after page | ${(l.readAllMs / 1000).toFixed(2)} s (${(l.resultBytes / 1_000_000 / (l.readAllMs / 1000)).toFixed(2)} MB/s) |`,
    `| read_job_result answer text | p50 ${l.pageChars.p50} chars, max ${l.pageChars.max} chars |`,
    `| get_job answer text for the job | ${l.getJobChars} chars |`,
    `| Largest answer of the phase | ${l.maxAnswerChars} chars (bound ${MAX_ANSWER_CHARS}) |`,
    `| Reassembled text equals the expected export | ${l.reassembledExactly ? "yes" : "**no**"} |`,
    "",
    `A page carries up to 16 000 bytes of the result, fewer when escaping its quotes as a JSON string would pass the answer bound, so ${mb} MB takes ${l.pages} calls: an agent should page only what it needs, or hand the presigned link (deployed) to code that downloads the whole file.`,
    "",
  ].join("\n");
}
