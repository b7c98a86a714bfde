import {
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  isLegacyRequest,
  McpServer,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type ServerCapabilities,
  type ServerContext,
  type StandardSchemaWithJSON,
} from "@modelcontextprotocol/server";
import * as z from "zod";
import { DomainError, JobNotFoundError } from "../domain/errors.js";
import { isTerminal, type JobRow } from "../domain/job.js";
import { answerEvents, EVENTS_CAPABILITY, EVENTS_METHODS, EventsParams } from "./events-door.js";
import { authInfoOf, scopeOfAuthInfo } from "./scope-auth-info.js";
import { createTaskResult, detailedTask, TASKS_EXTENSION } from "./task-view-2026.js";
import { TASK_NOT_FOUND } from "./tasks.js";
import {
  errorAnswer,
  INSTRUCTIONS,
  type McpServerDeps,
  type RequestScope,
  SERVER_INFO,
  type ToolAnswer,
  type ToolCatalog,
} from "./tool-catalog.js";
import { jobId } from "./tool-schemas.js";

/** The 2026-07-28 door: serves a request that carries the per-request `_meta` envelope. */
export interface ModernDoor {
  /**
   * Whether this request belongs to the 2026-07-28 door (the v2 SDK's own classification).
   * `parsedBody`: the request's JSON body, already read (the request's own body is then not read).
   */
  accepts(request: Request, parsedBody?: unknown): Promise<boolean>;
  /** Answers one request for an authenticated caller. */
  fetch(request: Request, scope: RequestScope, parsedBody?: unknown): Promise<Response>;
}

/**
 * `@modelcontextprotocol/server` (v2) for protocol 2026-07-28 at the same URL as the 2025 door: the
 * same tool catalog, plus the Tasks extension over the same jobs. It runs behind the shared front
 * door, which has authenticated the caller and checked origin and size.
 */
export function createModernDoor(
  catalog: ToolCatalog,
  deps: McpServerDeps,
  maxBodyBytes: number,
): ModernDoor {
  const handler = createMcpHandler(
    ({ era, authInfo }) => createModernServer(catalog, deps, { ...scopeOfAuthInfo(authInfo), era }),
    {
      legacy: "reject",
      responseMode: "json",
      maxRequestBodySize: maxBodyBytes,
      // A buffered Lambda response cannot carry a stream that never ends: every
      // subscriptions/listen is refused at once (the tools never change, and the server says so).
      maxSubscriptions: 0,
    },
  );
  return {
    accepts: async (request, parsedBody) =>
      !(await isLegacyRequest(request, parsedBody, { maxRequestBodySize: maxBodyBytes })),
    fetch: (request, scope, parsedBody) =>
      handler.fetch(request, {
        authInfo: authInfoOf(scope),
        ...(parsedBody !== undefined ? { parsedBody } : {}),
      }),
  };
}

/** A client declares the Tasks extension in each request's envelope, with any object as its value. */
const DeclaresTasks = z.looseObject({
  [CLIENT_CAPABILITIES_META_KEY]: z.looseObject({
    extensions: z.looseObject({ [TASKS_EXTENSION]: z.looseObject({}) }),
  }),
});

function declaresTasks(ctx: ServerContext): boolean {
  return DeclaresTasks.safeParse(ctx.mcpReq.envelope).success;
}

const TaskIdParams = z.looseObject({ taskId: z.string() });

/**
 * A catalog schema as the v2 SDK takes it: zod validates, and the listed JSON Schema is the one
 * the 2025 door lists, so both eras show the same tools.
 */
function listedAs<S extends z.ZodObject>(
  schema: S,
  json: Record<string, unknown>,
): StandardSchemaWithJSON<z.input<S>, z.output<S>> {
  const standard = schema["~standard"];
  return {
    "~standard": {
      ...standard,
      jsonSchema: { input: () => json, output: () => json },
    },
  };
}

function createModernServer(
  catalog: ToolCatalog,
  deps: McpServerDeps,
  scope: RequestScope & { readonly era: "legacy" | "modern" },
): McpServer {
  const events = deps.events;
  const server = new McpServer(SERVER_INFO, {
    // `events` is not in the SDK's closed capability type; it reaches server/discover as given.
    capabilities: {
      tools: { listChanged: false },
      extensions: { [TASKS_EXTENSION]: {} },
      ...(events ? EVENTS_CAPABILITY : {}),
    } as ServerCapabilities,
    instructions: INSTRUCTIONS,
  });
  const owner = scope.caller.principal;

  // MCP Events are era-blind: registered with an explicit schema, as tasks/update is.
  if (events !== undefined) {
    for (const method of EVENTS_METHODS) {
      server.server.setRequestHandler(method, { params: EventsParams }, async (params) => {
        const answer = await answerEvents(events, method, params, owner, deps.log);
        if (!answer.ok) throw new ProtocolError(answer.error.code, answer.error.message, answer.error.data);
        return answer.result;
      });
    }
  }

  for (const tool of catalog.tools) {
    const startTool = catalog.startTools.get(tool.name);
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: listedAs(tool.inputSchema, tool.listed.input),
        // A tool that may answer a task declares no output schema: the SDK would refuse the task.
        ...(startTool === undefined ? { outputSchema: listedAs(tool.outputSchema, tool.listed.output) } : {}),
        annotations: tool.annotations,
      },
      async (args: Record<string, unknown>, ctx: ServerContext): Promise<CallToolResult> => {
        if (startTool === undefined || !declaresTasks(ctx)) return asV2(await tool.call(args, scope));
        try {
          // The row is written (and readable consistently) before the task is answered.
          const job = await startTool.start(args, scope);
          return asTaskAnswer(createTaskResult(catalog.viewOf(job)));
        } catch (error) {
          return asV2(errorAnswer(deps.log, error));
        }
      },
    );
  }

  if (scope.era !== "modern") return server;

  /** Finds the caller's job behind a task id; every miss gets the same error. */
  async function find(taskId: string, ctx: ServerContext): Promise<JobRow> {
    if (!declaresTasks(ctx)) {
      throw new MissingRequiredClientCapabilityError({
        requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } },
      });
    }
    try {
      // Not one of our ids, so no job can have it: the same answer as for any unknown id.
      if (!jobId.safeParse(taskId).success) throw new JobNotFoundError(taskId);
      return await deps.service.get(owner, taskId);
    } catch (error) {
      throw protocolError(error, deps);
    }
  }

  server.server.setRequestHandler("tasks/get", { params: TaskIdParams }, async ({ taskId }, ctx) => {
    const job = await find(taskId, ctx);
    const answer = isTerminal(job.status) ? await catalog.getJobAnswer(job) : undefined;
    return detailedTask(catalog.viewOf(job), answer);
  });

  server.server.setRequestHandler("tasks/cancel", { params: TaskIdParams }, async ({ taskId }, ctx) => {
    const job = await find(taskId, ctx);
    // Cancelling is cooperative: an ended task stays as it is, and the acknowledgement is the same.
    if (!isTerminal(job.status)) {
      try {
        await deps.service.cancel(owner, job.id);
      } catch (error) {
        throw protocolError(error, deps);
      }
    }
    return { resultType: "complete" };
  });

  // Jobs never ask for input, so an update has nothing to deliver: a known task is acknowledged.
  server.server.setRequestHandler("tasks/update", { params: TaskIdParams }, async ({ taskId }, ctx) => {
    await find(taskId, ctx);
    return { resultType: "complete" };
  });

  return server;
}

/** Unknown, expired and foreign ids all read the same; other named errors keep their message. */
function protocolError(error: unknown, deps: McpServerDeps): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof JobNotFoundError)
    return new ProtocolError(ProtocolErrorCode.InvalidParams, TASK_NOT_FOUND);
  if (error instanceof DomainError) return new ProtocolError(ProtocolErrorCode.InvalidParams, error.message);
  deps.log.error("Task request failed unexpectedly", { error });
  return new ProtocolError(
    ProtocolErrorCode.InternalError,
    "Internal error: the request could not be completed. Try again shortly.",
  );
}

/** The catalog's answers use the v1 SDK's result type; on the wire both eras' tool answers agree. */
function asV2(answer: ToolAnswer): CallToolResult {
  return answer as CallToolResult;
}

/** The SDK types a tool callback's answer as a tool result; a task answer passes at runtime (resultType "task"). */
function asTaskAnswer(task: object): CallToolResult {
  return task as CallToolResult;
}
