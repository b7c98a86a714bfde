/** The body of a JSON-RPC error that answers no request id (a refusal before the MCP server runs). */
export function jsonRpcErrorBody(
  code: number,
  message: string,
): { jsonrpc: "2.0"; error: { code: number; message: string }; id: null } {
  return { jsonrpc: "2.0", error: { code, message }, id: null };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** JSON-RPC shaped, like every refusal of the front door, so MCP clients can show the message. */
export function jsonRpcError(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return json(status, jsonRpcErrorBody(code, message), headers);
}
