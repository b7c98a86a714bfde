import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { CliError } from "./errors.js";
import { connectClient } from "./mcp-client.js";

export const DEFAULT_URL = "http://127.0.0.1:3000/mcp";

/** Connects the MCP SDK client to `url`, with the API key as a bearer token when there is one. */
export async function openClient(url: string, key: string | undefined): Promise<Client> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--url "${url}" is not a URL (for example ${DEFAULT_URL})`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new CliError(`--url "${url}" must start with http:// or https://`);
  }
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  try {
    return await connectClient(parsed.href, headers);
  } catch (error) {
    throw describeFailure(error, parsed.href);
  }
}

/** Turns what the transport or the SDK threw into one line a person can act on. */
export function describeFailure(error: unknown, url: string): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof StreamableHTTPError) {
    const status = error.code;
    if (status === 401) {
      return new CliError(
        `${url} answered 401 Unauthorized: pass an API key with --key or MCP_API_KEY (npm start prints one in api-key mode)`,
      );
    }
    if (status === 403) return new CliError(`${url} answered 403 Forbidden: ${detail(error.message)}`);
    if (status === 404)
      return new CliError(`${url} answered 404 Not Found: is the path right (it ends in /mcp)?`);
    return new CliError(`${url} answered HTTP ${status}: ${detail(error.message)}`);
  }
  if (error instanceof McpError) {
    if (error.code === ErrorCode.RequestTimeout) return new CliError(`${url} did not answer in time`);
    return new CliError(`${url} answered an MCP error: ${error.message}`);
  }
  const code = networkCode(error);
  if (code !== undefined) {
    const hint = code === "ECONNREFUSED" ? " Is the server running (npm start)?" : "";
    return new CliError(`Cannot reach ${url} (${code}).${hint}`);
  }
  return new CliError(`Request to ${url} failed: ${error instanceof Error ? error.message : String(error)}`);
}

/** `fetch` fails with a TypeError whose cause carries the socket error's code (or says why, e.g. "bad port"). */
function networkCode(error: unknown): string | undefined {
  if (!(error instanceof TypeError) || error.message !== "fetch failed") return undefined;
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code === "string") return cause.code;
  return typeof cause?.message === "string" ? cause.message : "connection failed";
}

/** The SDK's message wraps the server's body; keep it to one short line. */
function detail(message: string): string {
  const text = message
    .replace(/^Streamable HTTP error: /, "")
    .replace(/\s+/g, " ")
    .trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
