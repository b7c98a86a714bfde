import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { MCP_HEADERS } from "./raw-mcp.js";

export const MODERN_VERSION = "2026-07-28";
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

/** The envelope every 2026-07-28 request carries in `params._meta`. */
export function envelope(tasks: boolean): Record<string, unknown> {
  return {
    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
    "io.modelcontextprotocol/clientCapabilities": tasks ? { extensions: { [TASKS_EXTENSION]: {} } } : {},
    "io.modelcontextprotocol/clientInfo": { name: "raw-2026", version: "1.0.0" },
  };
}

/**
 * The official v2 client, negotiating as a 2026 host does (`server/discover` first, `initialize`
 * only as a fallback); with `tasks` it declares the Tasks extension on every request.
 */
export async function connectModernClient(
  url: string,
  headers: Record<string, string> = {},
  options: { tasks?: boolean } = {},
): Promise<Client> {
  const client = new Client(
    { name: "mcp-async-jobs-2026-client", version: "1.0.0" },
    {
      versionNegotiation: { mode: "auto" },
      capabilities: options.tasks ? { extensions: { [TASKS_EXTENSION]: {} } } : {},
    },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

export interface RawModernRequest {
  readonly method: string;
  readonly params?: Record<string, unknown>;
  /** The `Mcp-Name` header; absent unless given. */
  readonly name?: string;
  /** Declare the Tasks extension in the envelope. @default true */
  readonly tasks?: boolean;
  readonly headers?: Record<string, string>;
  readonly id?: number;
}

/** One 2026-07-28 JSON-RPC request over plain HTTP, headers and envelope as the spec has them. */
export function postModern(url: string, request: RawModernRequest): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      ...MCP_HEADERS,
      "mcp-protocol-version": MODERN_VERSION,
      "mcp-method": request.method,
      ...(request.name !== undefined ? { "mcp-name": request.name } : {}),
      ...request.headers,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: request.id ?? 1,
      method: request.method,
      params: { ...request.params, _meta: envelope(request.tasks ?? true) },
    }),
  });
}

/** Status, content type and exact body of a response: two answers compared this way are byte-identical. */
export async function exactly(response: Response): Promise<string> {
  return `${response.status} ${response.headers.get("content-type")}\n${await response.text()}`;
}
