import { MCP_PATH } from "../config/functions.js";

/** RFC 9728 well-known path; the metadata is served here and at its path-suffixed form (`…/mcp`). */
export const PROTECTED_RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource";
const METADATA_PATHS = new Set([
  PROTECTED_RESOURCE_METADATA_PATH,
  `${PROTECTED_RESOURCE_METADATA_PATH}${MCP_PATH}`,
]);

/** RFC 9728 Protected Resource Metadata, as far as this server fills it in. */
export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly scopes_supported?: readonly string[];
  readonly bearer_methods_supported: readonly ["header"];
  readonly resource_name: string;
}

export interface ProtectedResourceSettings {
  /** The resource identifier: the URL tokens must name as their audience. */
  readonly resource: string;
  readonly authorizationServers: readonly string[];
  readonly scopes: readonly string[];
}

export function protectedResourceMetadata(settings: ProtectedResourceSettings): ProtectedResourceMetadata {
  return {
    resource: settings.resource,
    authorization_servers: settings.authorizationServers,
    ...(settings.scopes.length > 0 ? { scopes_supported: settings.scopes } : {}),
    // Only the Authorization header: a token in the query string is refused, and bodies are JSON-RPC.
    bearer_methods_supported: ["header"],
    resource_name: "mcp-async-jobs",
  };
}

/** Where the metadata of a resource sits: the root form, as the `resource_metadata` challenge names it. */
export function protectedResourceMetadataUrl(resource: string): string {
  return `${new URL(resource).origin}${PROTECTED_RESOURCE_METADATA_PATH}`;
}

const PUBLIC_CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, HEAD, OPTIONS",
  "access-control-allow-headers": "mcp-protocol-version",
  "access-control-max-age": "600",
};

/**
 * Answers the metadata paths, or undefined for every other path. The document is public and holds
 * no secret, so any origin may read it (browser-based MCP clients fetch it cross-origin).
 */
export function serveProtectedResourceMetadata(
  request: Request,
  metadata: (request: Request) => ProtectedResourceMetadata,
): Response | undefined {
  if (!METADATA_PATHS.has(new URL(request.url).pathname)) return undefined;
  if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: PUBLIC_CORS });
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response(JSON.stringify({ error: "method_not_allowed", message: "Use GET." }), {
      status: 405,
      headers: { "content-type": "application/json", allow: "GET, HEAD, OPTIONS", ...PUBLIC_CORS },
    });
  }
  const body = request.method === "HEAD" ? null : JSON.stringify(metadata(request));
  return new Response(body, {
    status: 200,
    headers: { "content-type": "application/json", "cache-control": "public, max-age=300", ...PUBLIC_CORS },
  });
}

/** The resource identifier when the audience is not a URL (a Cognito app client id): this server's MCP URL. */
export function resourceFromRequest(request: Request): string {
  return `${new URL(request.url).origin}${MCP_PATH}`;
}
