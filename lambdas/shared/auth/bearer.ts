/**
 * RFC 6750 bearer-token plumbing shared by every auth mode: reading the token from the
 * Authorization header, and the 401/403 answers with their `WWW-Authenticate` challenge.
 */

import { jsonRpcError } from "../http/json-rpc.js";

/** The realm every challenge names. */
export const REALM = "mcp";

/** RFC 6750 `b64token`: the characters a bearer token may hold. */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export type BearerCredentials =
  | { readonly kind: "missing" }
  | { readonly kind: "malformed" }
  | { readonly kind: "token"; readonly token: string };

/**
 * The bearer token of a request. No header, or another scheme (Basic, …), counts as missing: RFC
 * 6750 answers both with a bare challenge. `Bearer` followed by anything but one token is malformed.
 */
export function readBearerToken(request: Request): BearerCredentials {
  const header = request.headers.get("authorization")?.trim() ?? "";
  const match = /^Bearer(?:\s+(.*))?$/is.exec(header);
  if (!match) return { kind: "missing" };
  const token = match[1]?.trim() ?? "";
  return B64TOKEN.test(token) ? { kind: "token", token } : { kind: "malformed" };
}

/** Why a request is refused; `description` goes into the challenge, `message` into the JSON body. */
export interface Refusal {
  readonly error?: "invalid_request" | "invalid_token";
  /** Plain ASCII without quotes or backslashes (RFC 6750 `error_description`); never the token. */
  readonly description?: string;
  readonly message: string;
}

export const QUERY_STRING_TOKEN: Refusal = {
  error: "invalid_request",
  description: "Send the token in the Authorization header, never in the query string.",
  message: "Credentials in the query string are refused; send an Authorization: Bearer header.",
};

export interface Challenger {
  /** 401: no credentials, or credentials that are not valid. */
  unauthorized(request: Request, refusal: Refusal): Response;
  /** 403: a valid token without every scope this server requires. */
  insufficientScope(request: Request, requiredScopes: readonly string[]): Response;
}

/**
 * Builds the answers for one auth mode. With `resourceMetadataUrl` (jwt mode), every challenge
 * points to the RFC 9728 metadata, so an OAuth client can find the authorization server.
 */
export function bearerChallenger(resourceMetadataUrl?: (request: Request) => string): Challenger {
  const metadata = (request: Request): string[] =>
    resourceMetadataUrl ? [param("resource_metadata", resourceMetadataUrl(request))] : [];
  return {
    unauthorized(request, refusal) {
      const params = [param("realm", REALM), ...metadata(request)];
      if (refusal.error) params.push(param("error", refusal.error));
      if (refusal.description) params.push(param("error_description", refusal.description));
      return refusalResponse(401, refusal.message, `Bearer ${params.join(", ")}`);
    },
    insufficientScope(request, requiredScopes) {
      const params = [
        param("error", "insufficient_scope"),
        param("scope", requiredScopes.join(" ")),
        ...metadata(request),
      ];
      return refusalResponse(
        403,
        `Forbidden: the access token lacks a scope this server requires (${requiredScopes.join(", ")}).`,
        `Bearer ${params.join(", ")}`,
      );
    },
  };
}

function param(name: string, value: string): string {
  return `${name}="${value.replace(/["\\]/g, "")}"`;
}

/** JSON-RPC shaped, like every other refusal of the front door, so MCP clients can show the message. */
function refusalResponse(status: 401 | 403, message: string, challenge: string): Response {
  return jsonRpcError(status, -32001, message, { "www-authenticate": challenge });
}
