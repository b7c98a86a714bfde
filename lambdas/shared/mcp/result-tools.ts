import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { JobRow, JobView } from "../domain/job.js";
import type { Clock } from "../domain/ports.js";
import type { ResultReader } from "../domain/results.js";
import { MAX_RESULT_PAGE_BYTES } from "./tool-schemas.js";

/** How long a presigned result link works. */
export const RESULT_URL_SECONDS = 15 * 60;

export interface ResultAccess {
  /** Reads stored results; absent when no results bucket is configured. */
  readonly reader?: ResultReader;
  /** Deployed: answers about a stored result carry a presigned link to the whole object. */
  readonly presignedUrls: boolean;
}

interface ResultLink {
  readonly resultUrl: string;
  readonly resultUrlExpiresAt: string;
}

/** What the model reads when a result is too large to show inline. */
export function resultHint(job: JobRow): string | undefined {
  if (job.resultRef === undefined) return undefined;
  return (
    `The result is ${job.resultRef.bytes} bytes of JSON, too large to show here. Read it with ` +
    `read_job_result { jobId, offset: 0 }, then again with each answer's nextOffset until an answer has ` +
    `none (up to ${MAX_RESULT_PAGE_BYTES} bytes a page); join the text fields in order.`
  );
}

/** A link to a stored result, minted at read time (never stored: it expires). */
export async function resultLink(
  access: ResultAccess,
  job: JobRow,
  clock: Clock,
): Promise<ResultLink | undefined> {
  if (!access.presignedUrls || access.reader === undefined || job.resultRef === undefined) return undefined;
  const resultUrl = await access.reader.presignGet(job.resultRef.key, RESULT_URL_SECONDS);
  return { resultUrl, resultUrlExpiresAt: new Date(clock.now() + RESULT_URL_SECONDS * 1000).toISOString() };
}

/** get_job's view of a stored result: how to read it, and (deployed) a link to it. */
export async function withResultAccess(
  access: ResultAccess,
  job: JobRow,
  view: JobView,
  clock: Clock,
): Promise<JobView> {
  const hint = resultHint(job);
  if (hint === undefined) return view;
  const link = await resultLink(access, job, clock);
  return { ...view, ...link, resultHint: hint };
}

/** Some hosts show the model only text, others follow resource links: a stored result's link goes both ways. */
export function resultLinkContent(output: object): CallToolResult["content"] {
  const { resultUrl, jobId, resultBytes, totalBytes } = output as Record<string, unknown>;
  if (typeof resultUrl !== "string") return [];
  const size = typeof resultBytes === "number" ? resultBytes : totalBytes;
  return [
    {
      type: "resource_link",
      uri: resultUrl,
      name: `job-${String(jobId)}-result.json`,
      title: "The job's whole result (JSON)",
      mimeType: "application/json",
      ...(typeof size === "number" ? { size } : {}),
    },
  ];
}
