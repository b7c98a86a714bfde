import type * as z from "zod";
import { MAX_ANSWER_CHARS } from "../config/table-schema.js";
import type { Caller } from "../domain/caller.js";
import type { JobRow, JobView } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { Clock } from "../domain/ports.js";
import type { JobType } from "../jobs/job-type.js";
import type { JobTypeRegistry } from "../jobs/registry.js";
import type { JobService } from "../usecases/job-service.js";
import { readResultPage } from "../usecases/result-pages.js";
import type { LoadEvents } from "./events-door.js";
import { type ListedSchemas, listedOnFirstUse } from "./listed-schemas.js";
import { type ResultAccess, resultLink, withResultAccess } from "./result-tools.js";
import { JOB_STATS_TOOL, type JobStatsInput, jobStatsOf } from "./stats-tool.js";
import {
  errorAnswer,
  jobsThatFit,
  jobViewOf,
  pollAfterSeconds,
  respond,
  type ToolAnswer,
} from "./tool-answers.js";
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
  type StartControls,
  startInput,
} from "./tool-schemas.js";

export interface McpServerDeps {
  readonly service: JobService;
  readonly registry: JobTypeRegistry;
  readonly clock: Clock;
  readonly log: Log;
  readonly jobTtlSeconds: number;
  /** How stored results are read and linked. @default no results bucket, no links */
  readonly results?: ResultAccess;
  /** MCP Events (`events/*`, `capabilities.events`). @default not offered */
  readonly events?: LoadEvents;
}

export interface RequestScope {
  readonly caller: Caller;
  /** Epoch milliseconds by which every answer must be on its way (the invocation's deadline). */
  readonly answerBy: number;
}

/** What a tool answers, in the shape both protocol eras share. */

export interface ToolAnnotations {
  readonly title: string;
  readonly readOnlyHint?: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint?: boolean;
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

/** A catalog tool, its JSON Schemas converted when first listed. */
const defined = <T extends CatalogTool>(tool: Omit<T, "listed">): T => listedOnFirstUse<T>(tool);

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
  const viewOf = (job: JobRow): JobView => jobViewOf(job, typeOf(deps.registry, job), deps.clock.now());
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

function typeOf(registry: JobTypeRegistry, job: JobRow): JobType | undefined {
  return registry.all.find((type) => type.name === job.type);
}

export { errorAnswer, pollAfterSeconds, respond, type ToolAnswer };
