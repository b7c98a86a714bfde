/**
 * The 2025 traffic recognised without the v2 SDK, so that a function serving only 2025 clients never
 * loads the 2026-07-28 door. It answers `true` only for requests the v2 SDK's own classification
 * (`isLegacyRequest`) certainly routes to the 2025 door: a well-formed JSON-RPC request or
 * notification, within the body limit, with no `io.modelcontextprotocol/` key in its `_meta` and no
 * 2026 `MCP-Protocol-Version` header. Every other request (a 2026 one, or anything unusual) is left
 * to the SDK's classification, so a `false` decides nothing. `parsedBody` is the request's JSON body
 * as the front door read it (`readJsonBody`, within the body limit), undefined when it was empty or
 * no JSON.
 */
export function plainlyLegacy(request: Request, parsedBody: unknown): boolean {
  if (request.method.toUpperCase() !== "POST") return true;
  if (!legacyVersionHeader(request.headers.get("mcp-protocol-version"))) return false;
  return parsedBody !== undefined && isPlainJsonRpcMessage(parsedBody);
}

/** The first protocol revision whose requests carry the per-request `_meta` envelope. */
const FIRST_ENVELOPE_REVISION = "2026-07-28";
/** The prefix of every key the 2026-07-28 revision reserves in `_meta` (its envelope claim among them). */
const RESERVED_META_PREFIX = "io.modelcontextprotocol/";
const MESSAGE_KEYS = new Set(["jsonrpc", "id", "method", "params"]);

function legacyVersionHeader(value: string | null): boolean {
  if (value === null) return true;
  const version = value.replace(/^[ \t]+|[ \t]+$/g, "");
  return /^\d{4}-\d{2}-\d{2}$/.test(version) && version < FIRST_ENVELOPE_REVISION;
}

function isPlainJsonRpcMessage(body: unknown): boolean {
  if (!isRecord(body) || Object.keys(body).some((key) => !MESSAGE_KEYS.has(key))) return false;
  if (body.jsonrpc !== "2.0" || typeof body.method !== "string") return false;
  if ("id" in body && !isIdOrToken(body.id)) return false;
  if (!("params" in body)) return true;
  if (!isRecord(body.params)) return false;
  if (!("_meta" in body.params)) return true;
  const meta = body.params._meta;
  if (!isRecord(meta) || Object.keys(meta).some((key) => key.startsWith(RESERVED_META_PREFIX))) return false;
  return !("progressToken" in meta) || isIdOrToken(meta.progressToken);
}

/** A JSON-RPC id or a progress token: a string or a safe integer. */
function isIdOrToken(value: unknown): boolean {
  return typeof value === "string" || Number.isSafeInteger(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
