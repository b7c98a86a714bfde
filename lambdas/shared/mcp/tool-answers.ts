import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { MAX_ANSWER_CHARS } from "../config/table-schema.js";
import { DomainError, JobNotRecordedError } from "../domain/errors.js";
import { isTerminal, type JobRow, type JobView, toJobView } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { JobType } from "../jobs/job-type.js";
import { resultHint, resultLinkContent } from "./result-tools.js";
import { UNRECORDED_JOB_ID_META_KEY } from "./tool-schemas.js";

/** What the tools answer: a job as the model reads it, and a tool result or error. */

export type ToolAnswer = CallToolResult;

/** The job as get_job shows it: the one job view, the result hint, and when to poll next while open. */
export function jobViewOf(job: JobRow, jobType: JobType | undefined, now: number): JobView {
  const hint = resultHint(job);
  const shown: JobView = { ...toJobView(job), ...(hint !== undefined ? { resultHint: hint } : {}) };
  return isTerminal(job.status) ? shown : { ...shown, pollAfterSeconds: pollAfterSeconds(job, jobType, now) };
}

/** Slack after a check is due for the worker to run it and write the row. */
const CHECK_SLACK_SECONDS = 1;

/**
 * A submitted job changes only when it is checked, so the next poll is best just after the next
 * check; before its submit (and for run jobs) the job type's own suggestion stands.
 */
export function pollAfterSeconds(job: JobRow, jobType: JobType | undefined, now: number): number {
  if (job.nextCheckAt === undefined) return jobType?.pollAfterSeconds ?? 5;
  return Math.max(1, Math.ceil((job.nextCheckAt - now) / 1000) + CHECK_SLACK_SECONDS);
}

/** The whole answer travels as compact JSON text too: many agent frameworks show the model only text. */
export async function respond(log: Log, run: () => Promise<object>): Promise<ToolAnswer> {
  try {
    const output = await run();
    const text = JSON.stringify(output);
    if (text.length > MAX_ANSWER_CHARS) {
      // Every tool bounds its own answer; this is the backstop that keeps a bug from reaching the model.
      log.error("Tool answer over the size limit; not sent", { chars: text.length });
      return {
        isError: true,
        content: [
          { type: "text", text: "Internal error: the answer was too large to send. Try again shortly." },
        ],
      };
    }
    return {
      content: [{ type: "text", text }, ...resultLinkContent(output)],
      structuredContent: output as Record<string, unknown>,
    };
  } catch (error) {
    return errorAnswer(log, error);
  }
}

/** A failed tool call as the model reads it: a named error's own message, anything else a safe one. */
export function errorAnswer(log: Log, error: unknown): ToolAnswer {
  if (error instanceof JobNotRecordedError) {
    // The id in the text, and where a client reads it without parsing the text.
    return {
      isError: true,
      content: [{ type: "text", text: error.message }],
      _meta: { [UNRECORDED_JOB_ID_META_KEY]: error.jobId },
    };
  }
  if (error instanceof DomainError) {
    return { isError: true, content: [{ type: "text", text: error.message }] };
  }
  log.error("Tool call failed unexpectedly", { error });
  return {
    isError: true,
    content: [
      { type: "text", text: "Internal error: the request could not be completed. Try again shortly." },
    ],
  };
}

/** Room in a list_jobs answer for the brackets, separators and a nextCursor. */
const LIST_ENVELOPE_CHARS = 2_500;

/** How many of the page's first jobs fit into one answer. */
export function jobsThatFit(jobs: readonly object[]): number {
  let used = LIST_ENVELOPE_CHARS;
  for (const [index, job] of jobs.entries()) {
    used += JSON.stringify(job).length + 1;
    if (used > MAX_ANSWER_CHARS) return index;
  }
  return jobs.length;
}
