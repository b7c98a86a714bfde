import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { MAX_ANSWER_CHARS } from "../config/table-schema.js";
import type { Caller } from "../domain/caller.js";
import { DomainError, JobNotRecordedError } from "../domain/errors.js";
import { isTerminal, type JobRow, type JobView, toJobView } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { Clock } from "../domain/ports.js";
import type { JobType } from "../jobs/job-type.js";
import type { JobTypeRegistry } from "../jobs/registry.js";
import type { JobService } from "../usecases/job-service.js";
import {
  type ResultAccess,
  registerResultTools,
  resultHint,
  resultLinkContent,
  withResultAccess,
} from "./result-tools.js";
import { serveTasks } from "./tasks.js";
import {
  CancelJobInput,
  GetJobInput,
  JobOutput,
  JobSummary,
  ListJobsInput,
  ListJobsOutput,
  MAX_WAIT_SECONDS,
  StartControls,
  UNRECORDED_JOB_ID_META_KEY,
} from "./tool-schemas.js";

export const SERVER_INFO = { name: "mcp-async-jobs", version: "0.1.0" } as const;

// Kept importable from here; it lives in the domain so that auth/ need not import the MCP layer.
export type { Caller } from "../domain/caller.js";

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

const INSTRUCTIONS = `Tools here wrap slow external APIs without blocking: a start_* tool returns a jobId at once, the work runs in the background, and get_job returns status, progress and the result. Call get_job with waitSeconds (up to ${MAX_WAIT_SECONDS}) to wait server-side instead of polling often. Statuses: queued, running, then completed, failed or cancelled (final). A result too large to show inline is read in pages with read_job_result.`;

/** A fresh server per request: the HTTP transport is stateless, and the caller differs per request. */
export function createMcpServer(deps: McpServerDeps, scope: RequestScope): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  const ttlHours = Math.round(deps.jobTtlSeconds / 360) / 10;
  const owner = scope.caller.principal;
  const answer = (run: () => Promise<object>): Promise<CallToolResult> => respond(deps.log, run);
  const results: ResultAccess = deps.results ?? { presignedUrls: false };
  const waitOptions = (seconds: number): { waitMs: number; notAfter: number } => ({
    waitMs: seconds * 1000,
    notAfter: scope.answerBy,
  });

  for (const jobType of deps.registry.all) {
    server.registerTool(
      `start_${jobType.name}`,
      {
        title: `Start: ${jobType.title}`,
        description: `${jobType.description} Returns at once with a jobId while the work runs in the background (status "queued"). Then call get_job with the jobId, passing waitSeconds (up to ${MAX_WAIT_SECONDS}) to wait for the outcome in one call, or poll after pollAfterSeconds. Pass waitSeconds here to get the outcome in this same call if the job ends that soon. A jobId works for ${ttlHours} hours.`,
        inputSchema: jobType.input.extend(StartControls.shape),
        outputSchema: JobOutput,
        annotations: {
          title: `Start: ${jobType.title}`,
          readOnlyHint: false,
          destructiveHint: false,
          idempotentHint: false,
          openWorldHint: true,
        },
      },
      (args) =>
        answer(async () => {
          const {
            idempotencyKey: key,
            waitSeconds: wait,
            callbackUrl,
            ...input
          } = args as StartControls & Record<string, unknown>;
          const started = await deps.service.start({
            owner,
            jobType,
            input,
            ...(key !== undefined ? { idempotencyKey: key } : {}),
            ...(callbackUrl !== undefined ? { callbackUrl } : {}),
          });
          const job = wait > 0 ? await deps.service.waitFor(owner, started.id, waitOptions(wait)) : started;
          return view(job, jobType, deps.clock.now());
        }),
    );
  }

  server.registerTool(
    "get_job",
    {
      title: "Get job status and result",
      description: `Returns a job's status, progress and, once it has ended, its result or error. A result too large to show inline is answered as resultBytes with resultStored "s3": read it with read_job_result. Pass waitSeconds (up to ${MAX_WAIT_SECONDS}) to wait server-side until the job ends: one call then often replaces many polls. If the job is still queued or running, call again (after pollAfterSeconds when not waiting). completed, failed and cancelled are final. Unknown or expired jobIds (after ${ttlHours} hours) are not found.`,
      inputSchema: GetJobInput,
      outputSchema: JobOutput,
      annotations: { title: "Get job", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ jobId, waitSeconds: wait }) =>
      answer(async () => {
        const job =
          wait > 0
            ? await deps.service.waitFor(owner, jobId, waitOptions(wait))
            : await deps.service.get(owner, jobId);
        return withResultAccess(
          results,
          job,
          view(job, typeOf(deps.registry, job), deps.clock.now()),
          deps.clock,
        );
      }),
  );

  server.registerTool(
    "cancel_job",
    {
      title: "Cancel a job",
      description:
        "Cancels a queued or running job: it ends with status cancelled and its result is discarded. A job that has already ended stays as it is; the answer shows its state.",
      inputSchema: CancelJobInput,
      outputSchema: JobOutput,
      annotations: { title: "Cancel job", readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    },
    ({ jobId }) =>
      answer(async () => {
        const job = await deps.service.cancel(owner, jobId);
        return view(job, typeOf(deps.registry, job), deps.clock.now());
      }),
  );

  server.registerTool(
    "list_jobs",
    {
      title: "List my jobs",
      description:
        "Lists your jobs, newest first, without their results (use get_job for a result). Filter by status; page with nextCursor.",
      inputSchema: ListJobsInput,
      outputSchema: ListJobsOutput,
      annotations: { title: "List jobs", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ status, limit, cursor }) =>
      answer(async () => {
        // A page whose answer would pass MAX_ANSWER_CHARS is read again with fewer jobs, so that its
        // nextCursor resumes right after the last job shown (the store's cursors are opaque).
        let pageLimit = limit;
        for (let tries = 0; ; tries++) {
          const page = await deps.service.list(owner, {
            limit: pageLimit,
            ...(status !== undefined ? { status } : {}),
            ...(cursor !== undefined ? { cursor } : {}),
          });
          const output = {
            jobs: page.jobs.map((job) =>
              JobSummary.parse(view(job, typeOf(deps.registry, job), deps.clock.now())),
            ),
            ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}),
          };
          const fitting = jobsThatFit(output.jobs);
          if (fitting >= output.jobs.length || tries >= 3) return output;
          pageLimit = Math.max(1, fitting);
        }
      }),
  );

  // MCP Tasks: the same jobs through tasks/*, through the same views and get_job answers as above.
  serveTasks(server, {
    service: deps.service,
    log: deps.log,
    owner,
    answerBy: scope.answerBy,
    startTools: new Set(deps.registry.all.map((jobType) => `start_${jobType.name}`)),
    viewOf: (job) => view(job, typeOf(deps.registry, job), deps.clock.now()),
    answerFor: (job) => answer(async () => view(job, typeOf(deps.registry, job), deps.clock.now())),
  });
  registerResultTools(server, { service: deps.service, access: results, clock: deps.clock }, owner, answer);

  return server;
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
async function respond(log: Log, run: () => Promise<object>): Promise<CallToolResult> {
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
}
