import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import { MAX_ANSWER_CHARS } from "../config/table-schema.js";
import type { Caller } from "../domain/caller.js";
import { DomainError, JobNotRecordedError } from "../domain/errors.js";
import { isTerminal, type JobRow, type JobView, toJobView } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { Clock } from "../domain/ports.js";
import type { JobType } from "../jobs/job-type.js";
import type { JobTypeRegistry } from "../jobs/registry.js";
import type { JobService } from "../usecases/job-service.js";
import { readResultPage } from "../usecases/result-pages.js";
import {
  type ResultAccess,
  resultHint,
  resultLink,
  resultLinkContent,
  withResultAccess,
} from "./result-tools.js";
import { JOB_STATS_TOOL, type JobStatsInput, jobStatsOf } from "./stats-tool.js";
import {
  CancelJobInput,
  GetJobInput,
  JobOutput,
  JobSummary,
  ListJobsInput,
  ListJobsOutput,
  MAX_RESULT_PAGE_BYTES,
  MAX_WAIT_SECONDS,
  ReadJobResultInput,
  ReadJobResultOutput,
  StartControls,
  UNRECORDED_JOB_ID_META_KEY,
} from "./tool-schemas.js";

export interface McpServerDeps {
  readonly service: JobService;
  readonly registry: JobTypeRegistry;
  readonly clock: Clock;
  readonly log: Log;
  readonly jobTtlSeconds: number;
  /** How stored results are read and linked. @default no results bucket, no links */
  readonly results?: ResultAccess;
}

export interface RequestScope {
  readonly caller: Caller;
  /** Epoch milliseconds by which every answer must be on its way (the invocation's deadline). */
  readonly answerBy: number;
}

/** What a tool answers, in the shape both protocol eras share. */
export type ToolAnswer = CallToolResult;

export interface ToolAnnotations {
  readonly title: string;
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
}

/** A tool's JSON Schemas as every door lists them (JSON Schema draft-07, converted once). */
export interface ListedSchemas {
  readonly input: Record<string, unknown>;
  readonly output: Record<string, unknown>;
}

/** One tool, defined once: each protocol door only adapts this to its SDK. */
export interface CatalogTool {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: z.ZodObject;
  readonly outputSchema: z.ZodObject;
  readonly annotations: ToolAnnotations;
  readonly listed: ListedSchemas;
  /** Runs the tool on arguments its inputSchema has parsed; every failure is an `isError` answer. */
  call(args: Record<string, unknown>, scope: RequestScope): Promise<ToolAnswer>;
}

/** A `start_*` tool: besides the plain call, its start use case alone, for the Tasks doors. */
export interface StartTool extends CatalogTool {
  readonly jobType: JobType;
  /** Creates the job from parsed arguments (validation, caller limits, idempotency) and never waits. */
  start(args: Record<string, unknown>, scope: RequestScope): Promise<JobRow>;
}

export interface ToolCatalog {
  /** Every tool, in the order both doors list them. */
  readonly tools: readonly CatalogTool[];
  readonly startTools: ReadonlyMap<string, StartTool>;
  /** The job as get_job shows it (its pollAfterSeconds included), so a task never disagrees with it. */
  viewOf(job: JobRow): JobView;
  /** Exactly what get_job answers for this job (a stored result's hint and link included). */
  getJobAnswer(job: JobRow): Promise<ToolAnswer>;
  /** The job view as a tool answer (no result access), as cancel_job answers it. */
  viewAnswer(job: JobRow): Promise<ToolAnswer>;
}

export const SERVER_INFO = { name: "mcp-async-jobs", version: "0.1.0" } as const;

export const INSTRUCTIONS = `Tools here wrap slow external APIs without blocking: a start_* tool returns a jobId at once, the work runs in the background, and get_job returns status, progress and the result. Call get_job with waitSeconds (up to ${MAX_WAIT_SECONDS}) to wait server-side instead of polling often. Statuses: queued, running, then completed, failed or cancelled (final). A result too large to show inline is read in pages with read_job_result.`;

/**
 * Room in a read_job_result answer for everything but the page text: the field names, jobId,
 * offsets and the link's expiry (the link itself is counted separately).
 */
const PAGE_ENVELOPE_CHARS = 400;

/** The JSON Schemas of a zod schema as tools/list shows them (draft-07, as SDK v1 converts). */
export function listedSchemas(input: z.ZodObject, output: z.ZodObject): ListedSchemas {
  return {
    input: z.toJSONSchema(input, { target: "draft-7", io: "input" }) as Record<string, unknown>,
    output: z.toJSONSchema(output, { target: "draft-7", io: "output" }) as Record<string, unknown>,
  };
}

function defined<T extends CatalogTool>(tool: Omit<T, "listed">): T {
  return { ...tool, listed: listedSchemas(tool.inputSchema, tool.outputSchema) } as T;
}

/**
 * Every tool of the server over the job use cases. Built once per process (the schemas are
 * converted here, not per request); the caller and deadline arrive with each call.
 */
export function createToolCatalog(deps: McpServerDeps): ToolCatalog {
  const ttlHours = Math.round(deps.jobTtlSeconds / 360) / 10;
  const answer = (run: () => Promise<object>): Promise<ToolAnswer> => respond(deps.log, run);
  const results: ResultAccess = deps.results ?? { presignedUrls: false };
  const waitOptions = (seconds: number, scope: RequestScope): { waitMs: number; notAfter: number } => ({
    waitMs: seconds * 1000,
    notAfter: scope.answerBy,
  });
  const viewOf = (job: JobRow): JobView => view(job, typeOf(deps.registry, job), deps.clock.now());
  const getJobView = (job: JobRow): Promise<JobView> =>
    withResultAccess(results, job, viewOf(job), deps.clock);

  const startTools = deps.registry.all.map((jobType): StartTool => {
    const start = (args: Record<string, unknown>, scope: RequestScope): Promise<JobRow> => {
      const {
        idempotencyKey: key,
        waitSeconds: _wait,
        callbackUrl,
        ...input
      } = args as StartControls & Record<string, unknown>;
      return deps.service.start({
        owner: scope.caller.principal,
        jobType,
        input,
        ...(key !== undefined ? { idempotencyKey: key } : {}),
        ...(callbackUrl !== undefined ? { callbackUrl } : {}),
      });
    };
    return defined({
      name: `start_${jobType.name}`,
      title: `Start: ${jobType.title}`,
      description: `${jobType.description} Returns at once with a jobId while the work runs in the background (status "queued"). Then call get_job with the jobId, passing waitSeconds (up to ${MAX_WAIT_SECONDS}) to wait for the outcome in one call, or poll after pollAfterSeconds. Pass waitSeconds here to get the outcome in this same call if the job ends that soon. A jobId works for ${ttlHours} hours.`,
      inputSchema: startInput(jobType),
      outputSchema: JobOutput,
      annotations: {
        title: `Start: ${jobType.title}`,
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
      jobType,
      start,
      call: (args, scope) =>
        answer(async () => {
          const started = await start(args, scope);
          const wait = (args as StartControls).waitSeconds;
          const job =
            wait > 0
              ? await deps.service.waitFor(scope.caller.principal, started.id, waitOptions(wait, scope))
              : started;
          return viewOf(job);
        }),
    });
  });

  const getJob = defined({
    name: "get_job",
    title: "Get job status and result",
    description: `Returns a job's status, progress and, once it has ended, its result or error. A result too large to show inline is answered as resultBytes with resultStored "s3": read it with read_job_result. Pass waitSeconds (up to ${MAX_WAIT_SECONDS}) to wait server-side until the job ends: one call then often replaces many polls. If the job is still queued or running, call again (after pollAfterSeconds when not waiting). completed, failed and cancelled are final. Unknown or expired jobIds (after ${ttlHours} hours) are not found.`,
    inputSchema: GetJobInput,
    outputSchema: JobOutput,
    annotations: { title: "Get job", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    call: (args, scope) =>
      answer(async () => {
        const { jobId, waitSeconds: wait } = args as z.infer<typeof GetJobInput>;
        const owner = scope.caller.principal;
        const job =
          wait > 0
            ? await deps.service.waitFor(owner, jobId, waitOptions(wait, scope))
            : await deps.service.get(owner, jobId);
        return getJobView(job);
      }),
  });

  const cancelJob = defined({
    name: "cancel_job",
    title: "Cancel a job",
    description:
      "Cancels a queued or running job: it ends with status cancelled and its result is discarded. A job that has already ended stays as it is; the answer shows its state.",
    inputSchema: CancelJobInput,
    outputSchema: JobOutput,
    annotations: { title: "Cancel job", readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    call: (args, scope) =>
      answer(async () => {
        const { jobId } = args as z.infer<typeof CancelJobInput>;
        return viewOf(await deps.service.cancel(scope.caller.principal, jobId));
      }),
  });

  const listJobs = defined({
    name: "list_jobs",
    title: "List my jobs",
    description:
      "Lists your jobs, newest first, without their results (use get_job for a result). Filter by status; page with nextCursor.",
    inputSchema: ListJobsInput,
    outputSchema: ListJobsOutput,
    annotations: { title: "List jobs", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    call: (args, scope) =>
      answer(async () => {
        const { status, limit, cursor } = args as z.infer<typeof ListJobsInput>;
        // A page whose answer would pass MAX_ANSWER_CHARS is read again with fewer jobs, so that its
        // nextCursor resumes right after the last job shown (the store's cursors are opaque).
        let pageLimit = limit;
        for (let tries = 0; ; tries++) {
          const page = await deps.service.list(scope.caller.principal, {
            limit: pageLimit,
            ...(status !== undefined ? { status } : {}),
            ...(cursor !== undefined ? { cursor } : {}),
          });
          const output = {
            jobs: page.jobs.map((job) => JobSummary.parse(viewOf(job))),
            ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}),
          };
          const fitting = jobsThatFit(output.jobs);
          if (fitting >= output.jobs.length || tries >= 3) return output;
          pageLimit = Math.max(1, fitting);
        }
      }),
  });

  const readJobResult = defined({
    name: "read_job_result",
    title: "Read a job's result in pages",
    description: `Returns a slice of a completed job's result as JSON text: up to maxBytes (at most ${MAX_RESULT_PAGE_BYTES}) bytes from offset, cut on a character boundary. Use it when get_job answers resultStored "s3" instead of a result; it works for any completed job. Start at offset 0 and call again with nextOffset until an answer has no nextOffset; the text fields joined in order are the whole result.`,
    inputSchema: ReadJobResultInput,
    outputSchema: ReadJobResultOutput,
    annotations: {
      title: "Read job result",
      readOnlyHint: true,
      idempotentHint: true,
      openWorldHint: false,
    },
    call: (args, scope) =>
      answer(async () => {
        const { jobId, offset, maxBytes } = args as z.infer<typeof ReadJobResultInput>;
        const job = await deps.service.get(scope.caller.principal, jobId);
        const link = await resultLink(results, job, deps.clock);
        const page = await readResultPage(job, results.reader, {
          offset,
          maxBytes,
          maxEscapedChars: MAX_ANSWER_CHARS - PAGE_ENVELOPE_CHARS - (link?.resultUrl.length ?? 0),
        });
        return { ...page, ...link };
      }),
  });

  const jobStats = defined({
    ...JOB_STATS_TOOL,
    call: (args, scope) =>
      answer(() => {
        const { limit } = args as z.infer<typeof JobStatsInput>;
        return jobStatsOf(deps.service, scope.caller.principal, limit);
      }),
  });

  return {
    tools: [...startTools, getJob, cancelJob, listJobs, readJobResult, jobStats],
    startTools: new Map(startTools.map((tool) => [tool.name, tool])),
    viewOf,
    getJobAnswer: (job) => answer(() => getJobView(job)),
    viewAnswer: (job) => answer(async () => viewOf(job)),
  };
}

/** Each job type's start input, built once per job type object. */
const startInputs = new WeakMap<JobType, z.ZodObject>();
function startInput(jobType: JobType): z.ZodObject {
  let schema = startInputs.get(jobType);
  if (schema === undefined) {
    schema = jobType.input.extend(StartControls.shape);
    startInputs.set(jobType, schema);
  }
  return schema;
}

function typeOf(registry: JobTypeRegistry, job: JobRow): JobType | undefined {
  return registry.all.find((type) => type.name === job.type);
}

/** Room in a list_jobs answer for the brackets, separators and a nextCursor. */
const LIST_ENVELOPE_CHARS = 2_500;

/** How many of the page's first jobs fit into one answer. */
function jobsThatFit(jobs: readonly object[]): number {
  let used = LIST_ENVELOPE_CHARS;
  for (const [index, job] of jobs.entries()) {
    used += JSON.stringify(job).length + 1;
    if (used > MAX_ANSWER_CHARS) return index;
  }
  return jobs.length;
}

/** Job types' error messages are not bounded; a view shows at most this much of one. */
const MAX_ERROR_MESSAGE_CHARS = 2_000;

function clampError<T extends { message: string }>(error: T): T {
  return error.message.length <= MAX_ERROR_MESSAGE_CHARS
    ? error
    : { ...error, message: `${error.message.slice(0, MAX_ERROR_MESSAGE_CHARS - 1)}…` };
}

function view(job: JobRow, jobType: JobType | undefined, now: number): JobView {
  const base = toJobView(job);
  const hint = resultHint(job);
  const bounded: JobView = {
    ...base,
    ...(base.error ? { error: clampError(base.error) } : {}),
    ...(base.lastError ? { lastError: clampError(base.lastError) } : {}),
    ...(hint !== undefined ? { resultHint: hint } : {}),
  };
  return isTerminal(job.status)
    ? bounded
    : { ...bounded, pollAfterSeconds: pollAfterSeconds(job, jobType, now) };
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
