import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Caller } from "../domain/caller.js";
import { DomainError } from "../domain/errors.js";
import { isTerminal, type JobRow, type JobView, toJobView } from "../domain/job.js";
import type { Log } from "../domain/logger.js";
import type { Clock } from "../domain/ports.js";
import type { JobType } from "../jobs/job-type.js";
import type { JobTypeRegistry } from "../jobs/registry.js";
import type { JobService } from "../usecases/job-service.js";
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
}

export interface RequestScope {
  readonly caller: Caller;
  /** Epoch milliseconds by which every answer must be on its way (the invocation's deadline). */
  readonly answerBy: number;
}

const INSTRUCTIONS = `Tools here wrap slow external APIs without blocking: a start_* tool returns a jobId at once, the work runs in the background, and get_job returns status, progress and the result. Call get_job with waitSeconds (up to ${MAX_WAIT_SECONDS}) to wait server-side instead of polling often. Statuses: queued, running, then completed, failed or cancelled (final).`;

/** A fresh server per request: the HTTP transport is stateless, and the caller differs per request. */
export function createMcpServer(deps: McpServerDeps, scope: RequestScope): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  const ttlHours = Math.round(deps.jobTtlSeconds / 360) / 10;
  const owner = scope.caller.principal;
  const answer = (run: () => Promise<object>): Promise<CallToolResult> => respond(deps.log, run);
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
            ...input
          } = args as StartControls & Record<string, unknown>;
          const started = await deps.service.start({
            owner,
            jobType,
            input,
            ...(key !== undefined ? { idempotencyKey: key } : {}),
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
      description: `Returns a job's status, progress and, once it has ended, its result or error. Pass waitSeconds (up to ${MAX_WAIT_SECONDS}) to wait server-side until the job ends: one call then often replaces many polls. If the job is still queued or running, call again (after pollAfterSeconds when not waiting). completed, failed and cancelled are final. Unknown or expired jobIds (after ${ttlHours} hours) are not found.`,
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
        return view(job, typeOf(deps.registry, job), deps.clock.now());
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
        const page = await deps.service.list(owner, {
          limit,
          ...(status !== undefined ? { status } : {}),
          ...(cursor !== undefined ? { cursor } : {}),
        });
        return {
          jobs: page.jobs.map((job) =>
            JobSummary.parse(view(job, typeOf(deps.registry, job), deps.clock.now())),
          ),
          ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}),
        };
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

  return server;
}

function typeOf(registry: JobTypeRegistry, job: JobRow): JobType | undefined {
  return registry.all.find((type) => type.name === job.type);
}

function view(job: JobRow, jobType: JobType | undefined, now: number): JobView {
  const base = toJobView(job);
  return isTerminal(job.status) ? base : { ...base, pollAfterSeconds: pollAfterSeconds(job, jobType, now) };
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
    return {
      content: [{ type: "text", text: JSON.stringify(output) }],
      structuredContent: output as Record<string, unknown>,
    };
  } catch (error) {
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
