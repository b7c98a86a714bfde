import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  type CallToolRequest,
  type CallToolResult,
  ErrorCode,
  type ListToolsResult,
  McpError,
  type ServerCapabilities,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import * as z from "zod";
import {
  answerEvents,
  EVENTS_CAPABILITY,
  EVENTS_METHODS,
  EventsParams,
  EventsRpcFailure,
} from "./events-door.js";
import { scopeOfAuthInfo } from "./scope-auth-info.js";
import { serveTasks } from "./tasks.js";
import {
  type CatalogTool,
  errorAnswer,
  INSTRUCTIONS,
  type McpServerDeps,
  type RequestScope,
  SERVER_INFO,
  type ToolCatalog,
} from "./tool-catalog.js";

// Kept importable from here: the tool catalog defines them, this door and the 2026 door share them.
export type { Caller } from "../domain/caller.js";
export type { McpServerDeps, RequestScope } from "./tool-catalog.js";
export { pollAfterSeconds, SERVER_INFO } from "./tool-catalog.js";

/** One per process: the SDK would otherwise build an Ajv instance (about 0.7 ms) for every request's server. */
const SHARED_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

/** The scope the front door handed over with this request (`authInfoOf`). */
function scopeOf(extra: { readonly authInfo?: AuthInfo | undefined }): RequestScope {
  return scopeOfAuthInfo(extra.authInfo);
}

/**
 * The 2025-11-25 door (SDK v1): a low-level server that lists and calls the catalog's tools and adds
 * MCP Tasks (2025-11-25) on the same jobs. It keeps no caller: each request carries its own scope
 * (`authInfoOf`), so one server serves request after request, each on a fresh stateless transport.
 */
export function createMcpServer(catalog: ToolCatalog, deps: McpServerDeps): Server {
  const events = deps.events;
  const server = new Server(SERVER_INFO, {
    // `events` is not in SDK v1's capability type; the SDK passes it through to the initialize result.
    capabilities: {
      tools: { listChanged: true },
      ...(events ? EVENTS_CAPABILITY : {}),
    } as ServerCapabilities,
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: SHARED_SCHEMA_VALIDATOR,
  });
  const byName = new Map(catalog.tools.map((tool) => [tool.name, tool]));
  let listed: ListToolsResult | undefined;

  async function callTool(request: CallToolRequest, scope: RequestScope): Promise<CallToolResult> {
    const { name, arguments: args } = request.params;
    const tool = byName.get(name);
    if (tool === undefined) {
      return toolError(new McpError(ErrorCode.InvalidParams, `Tool ${name} not found`).message);
    }
    const parsed = await parseArguments(tool, args);
    if (!parsed.success) return toolError(parsed.message);
    const answer = await tool.call(parsed.data, scope);
    return checkOutput(tool, answer);
  }

  async function startJob(name: string, args: unknown, scope: RequestScope): Promise<CallToolResult> {
    const tool = catalog.startTools.get(name);
    if (tool === undefined) return toolError(`Tool ${name} does not start a job.`);
    const parsed = await parseArguments(tool, args);
    if (!parsed.success) return toolError(parsed.message);
    try {
      return await catalog.viewAnswer(await tool.start(parsed.data, scope));
    } catch (error) {
      return errorAnswer(deps.log, error);
    }
  }

  // MCP Tasks (2025-11-25): the same jobs through tasks/*, through the same views and get_job answers.
  serveTasks(server, {
    service: deps.service,
    log: deps.log,
    scopeOf,
    startTools: new Set(catalog.startTools.keys()),
    listTools: () => {
      listed ??= { tools: catalog.tools.map(listedTool) };
      return listed;
    },
    callTool,
    startJob,
    viewOf: catalog.viewOf,
    answerFor: catalog.getJobAnswer,
  });
  if (events !== undefined) {
    for (const method of EVENTS_METHODS) {
      const request = z.object({ method: z.literal(method), params: EventsParams });
      server.setRequestHandler(request, async ({ params }, extra) => {
        const answer = await answerEvents(events, method, params, scopeOf(extra).caller.principal, deps.log);
        if (!answer.ok) throw new EventsRpcFailure(answer.error);
        return answer.result;
      });
    }
  }
  return server;
}

/** A catalog tool as tools/list shows it to 2025-11-25 clients. */
function listedTool(tool: CatalogTool): Tool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.listed.input as Tool["inputSchema"],
    annotations: tool.annotations,
    execution: { taskSupport: "forbidden" },
    outputSchema: tool.listed.output as Tool["outputSchema"],
  };
}

type Parsed = { success: true; data: Record<string, unknown> } | { success: false; message: string };

/** Validates arguments with the tool's own schema; a refusal reads as SDK v1 has always worded it. */
async function parseArguments(tool: CatalogTool, args: unknown): Promise<Parsed> {
  const parsed = await tool.inputSchema.safeParseAsync(args ?? {});
  if (parsed.success) return { success: true, data: parsed.data };
  return {
    success: false,
    message: new McpError(
      ErrorCode.InvalidParams,
      `Input validation error: Invalid arguments for tool ${tool.name}: ${issuesText(parsed.error)}`,
    ).message,
  };
}

/** A tool answer must match the tool's declared output; a bug here reaches the client as a tool error. */
async function checkOutput(tool: CatalogTool, answer: CallToolResult): Promise<CallToolResult> {
  if (answer.isError === true) return answer;
  if (answer.structuredContent === undefined) {
    return toolError(
      new McpError(
        ErrorCode.InvalidParams,
        `Output validation error: Tool ${tool.name} has an output schema but no structured content was provided`,
      ).message,
    );
  }
  const parsed = await tool.outputSchema.safeParseAsync(answer.structuredContent);
  if (parsed.success) return answer;
  return toolError(
    new McpError(
      ErrorCode.InvalidParams,
      `Output validation error: Invalid structured content for tool ${tool.name}: ${issuesText(parsed.error)}`,
    ).message,
  );
}

function issuesText(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.message} at ${dotPath(issue.path)}`))
    .join("\n");
}

function dotPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, segment, index) => {
    if (index === 0) return String(segment);
    return typeof segment === "number" ? `${text}[${segment}]` : `${text}.${String(segment)}`;
  }, "");
}

function toolError(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}
