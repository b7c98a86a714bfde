import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Authenticator } from "../auth/authenticator.js";
import { QUERY_STRING_TOKEN } from "../auth/bearer.js";
import { MCP_PATH } from "../config/functions.js";
import type { Log } from "../domain/logger.js";
import { readJsonBody } from "../http/json-body.js";
import { json, jsonRpcError } from "../http/json-rpc.js";
import type { ModernDoor } from "./door-2026.js";
import { plainlyLegacy } from "./plainly-legacy.js";
import { authInfoOf } from "./scope-auth-info.js";
import { createMcpServer } from "./server.js";
import {
  createToolCatalog,
  type McpServerDeps,
  type RequestScope,
  type ToolCatalog,
} from "./tool-catalog.js";

export const HEALTH_PATH = "/health";
/** Tool calls answer this long before the invocation's own deadline. */
const ANSWER_MARGIN_MS = 2_000;
/**
 * 2025-11-25 servers kept between requests. A server serves one request at a time (one per Lambda
 * container; the local stack serves many at once), so building one is paid only when all are busy.
 */
const MAX_IDLE_SERVERS = 16;

export interface FrontDoorOptions {
  readonly server: McpServerDeps;
  readonly authenticator: Authenticator;
  readonly allowedOrigins: readonly string[];
  readonly maxBodyBytes: number;
  readonly log: Log;
}

const CORS_ALLOW_HEADERS =
  "authorization, content-type, accept, mcp-protocol-version, mcp-session-id, last-event-id, mcp-method, mcp-name";

/**
 * The HTTP edge of the MCP endpoint, on web Request/Response so it serves Lambda events and the
 * local server alike. It answers everything the SDK should never see (wrong path or method, foreign
 * origin, oversized body, missing credentials) and hands the rest to one of two doors over the same
 * tools: a request carrying the 2026-07-28 `_meta` envelope goes to the v2 SDK's handler, everything
 * else (the `initialize` handshake, 2025-era requests) to a v1 server on a fresh stateless transport,
 * the caller's scope handed to it with the request. The v2 SDK is
 * loaded by the first request that may belong to it: plain 2025 traffic never needs it.
 */
export function createFrontDoor(
  options: FrontDoorOptions,
): (request: Request, remainingTimeMs: number) => Promise<Response> {
  const allowedOrigins = new Set(options.allowedOrigins);
  const catalog = createToolCatalog(options.server);
  const modern = modernDoorOnFirstUse(catalog, options.server, options.maxBodyBytes);
  const idleServers: Server[] = [];

  return async (request, remainingTimeMs) => {
    const url = new URL(request.url);
    if (url.pathname === HEALTH_PATH) return json(200, { status: "ok" });

    const publicDocument = options.authenticator.publicDocument?.(request);
    if (publicDocument) return publicDocument;
    if (url.pathname !== MCP_PATH) {
      return json(404, { error: "not_found", message: `The MCP endpoint is at ${MCP_PATH}.` });
    }

    const origin = request.headers.get("origin");
    if (origin !== null && !allowedOrigins.has(origin)) {
      return jsonRpcError(403, -32000, `Forbidden: origin ${origin} is not allowed.`);
    }
    const cors = origin === null ? undefined : corsHeaders(origin);
    if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
    if (request.method !== "POST") {
      // GET would open an SSE stream that a stateless endpoint never feeds; DELETE has no session to end.
      return withHeaders(jsonRpcError(405, -32000, "Method not allowed: send JSON-RPC requests with POST."), {
        allow: "POST, OPTIONS",
        ...cors,
      });
    }
    const declaredLength = Number(request.headers.get("content-length") ?? "0");
    if (declaredLength > options.maxBodyBytes) return tooLarge(options.maxBodyBytes);
    if (url.searchParams.has("access_token")) {
      return withHeaders(options.authenticator.unauthorized(request, QUERY_STRING_TOKEN), cors);
    }

    const auth = await options.authenticator.authenticate(request);
    if (!auth.ok) return withHeaders(auth.response, cors);

    const scope: RequestScope = {
      caller: auth.caller,
      answerBy: Date.now() + remainingTimeMs - ANSWER_MARGIN_MS,
    };
    // The body is read once here and handed to the doors parsed: neither clones the request to read it again.
    const body = await readJsonBody(request, options.maxBodyBytes);
    if (body.kind === "too-large") return tooLarge(options.maxBodyBytes);
    const { parsedBody } = body;
    if (body.kind === "not-json") request = body.request;
    if (!plainlyLegacy(request, parsedBody) && (await modern.accepts(request, parsedBody))) {
      if (!isJsonContentType(request.headers.get("content-type"))) {
        return withHeaders(
          jsonRpcError(415, -32000, "Unsupported Media Type: Content-Type must be application/json."),
          cors,
        );
      }
      try {
        const response = await modern.fetch(request, scope, parsedBody);
        const body = await response.text();
        return bufferedWith(body, response, cors);
      } catch (error) {
        options.log.error("MCP request failed", { error });
        return jsonRpcError(500, -32603, "Internal error");
      }
    }

    const server = idleServers.pop() ?? createMcpServer(catalog, options.server);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: options.maxBodyBytes,
    });
    try {
      await server.connect(transport);
      // With JSON responses the answer's body is a complete string here, so it outlives the transport.
      const response = await transport.handleRequest(request, {
        authInfo: authInfoOf(scope),
        ...(parsedBody === undefined ? {} : { parsedBody }),
      });
      return withHeaders(response, cors);
    } catch (error) {
      options.log.error("MCP request failed", { error });
      return jsonRpcError(500, -32603, "Internal error");
    } finally {
      // After the answer, once the SDK has finished its own bookkeeping for the request.
      setImmediate(() => void releaseServer(server, idleServers));
    }
  };
}

/** Detaches the request's transport; a server that closed cleanly waits for the next request. */
async function releaseServer(server: Server, idleServers: Server[]): Promise<void> {
  try {
    await server.close();
  } catch {
    return;
  }
  if (idleServers.length < MAX_IDLE_SERVERS) idleServers.push(server);
}

function tooLarge(maxBodyBytes: number): Response {
  return jsonRpcError(413, -32000, `Payload too large: the limit is ${maxBodyBytes} bytes.`);
}

/** The 2026-07-28 door, its module (and the v2 SDK in it) imported and the door built once, when first asked. */
function modernDoorOnFirstUse(catalog: ToolCatalog, deps: McpServerDeps, maxBodyBytes: number): ModernDoor {
  let door: Promise<ModernDoor> | undefined;
  const load = (): Promise<ModernDoor> => {
    if (door === undefined) {
      door = import("./door-2026.js").then(({ createModernDoor }) =>
        createModernDoor(catalog, deps, maxBodyBytes),
      );
      // A failed load is not kept: the next request tries again.
      door.catch(() => {
        door = undefined;
      });
    }
    return door;
  };
  return {
    accepts: async (request, parsedBody) => (await load()).accepts(request, parsedBody),
    fetch: async (request, scope, parsedBody) => (await load()).fetch(request, scope, parsedBody),
  };
}

function isJsonContentType(value: string | null): boolean {
  return value?.split(";")[0]?.trim().toLowerCase() === "application/json";
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-methods": "POST, OPTIONS",
    "access-control-allow-headers": CORS_ALLOW_HEADERS,
    "access-control-expose-headers": "mcp-session-id, mcp-protocol-version, www-authenticate",
    "access-control-max-age": "600",
    vary: "origin",
  };
}

/** The door's answer, its body already read, as one new response with the CORS headers added. */
function bufferedWith(
  body: string,
  response: Response,
  headers: Record<string, string> | undefined,
): Response {
  const merged = new Headers(response.headers);
  for (const [name, value] of Object.entries(headers ?? {})) merged.set(name, value);
  return new Response(body || null, {
    status: response.status,
    statusText: response.statusText,
    headers: merged,
  });
}

/** Adds headers to a response this function built (its headers are mutable): no second Response. */
function withHeaders(response: Response, headers: Record<string, string> | undefined): Response {
  for (const [name, value] of Object.entries(headers ?? {})) response.headers.set(name, value);
  return response;
}
