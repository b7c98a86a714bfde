/** What a Streamable HTTP client sends with every POST: JSON in, JSON or an event stream out. */
export const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** A raw JSON-RPC tools/call body, for tests that speak HTTP without the SDK client. */
export function toolCallBody(name: string, args: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } });
}

/** Starts a job that finishes at once: the request every "nothing created" check sends. */
export const START_CALL = toolCallBody("start_slow_api", { query: "q", delaySeconds: 0 });
