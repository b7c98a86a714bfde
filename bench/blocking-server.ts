import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { isSubmitCheck, type JobType, type RunJobType } from "../lambdas/shared/jobs/job-type.js";
import { JOB_TYPES } from "../lambdas/shared/jobs/registry.js";

export interface BlockingServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The pattern the async tools replace, for comparison only: one tool per job type that runs the
 * job inline and answers when the slow API does. Same SDK and the same stateless JSON transport as
 * the real endpoint, so the two differ only in where the slow call runs.
 */
export async function startBlockingServer(types: readonly JobType[] = JOB_TYPES): Promise<BlockingServer> {
  const http = createServer((request, response) => {
    void serve(types, request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: String(error) }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

async function serve(
  types: readonly JobType[],
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (request.method !== "POST") {
    response.writeHead(405, { allow: "POST", "content-type": "application/json" });
    response.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: "POST only" }, id: null }));
    return;
  }
  // Stateless: a fresh server and transport per request, as the SDK requires and the real endpoint does.
  const server = blockingMcpServer(types);
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  response.on("close", () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(request, response);
}

function blockingMcpServer(types: readonly JobType[]): McpServer {
  const server = new McpServer({ name: "blocking-bench", version: "0.1.0" }, { capabilities: { tools: {} } });
  // A blocking server can only hold one call open: submit/check types have no single call to hold.
  for (const jobType of types.filter((type): type is RunJobType => !isSubmitCheck(type))) {
    server.registerTool(
      jobType.name,
      { title: jobType.title, description: jobType.description, inputSchema: jobType.input },
      (args) => runInline(jobType, args),
    );
  }
  return server;
}

async function runInline(jobType: RunJobType, input: Record<string, unknown>): Promise<CallToolResult> {
  try {
    const result = await jobType.run(input, {
      jobId: randomUUID(),
      attempt: 1,
      signal: AbortSignal.timeout(jobType.timeoutMs),
      // A stateless JSON response cannot carry progress notifications; the caller just waits.
      progress: async () => {},
    });
    return { content: [{ type: "text", text: JSON.stringify(result ?? null) }] };
  } catch (error) {
    return {
      isError: true,
      content: [{ type: "text", text: error instanceof Error ? error.message : String(error) }],
    };
  }
}
