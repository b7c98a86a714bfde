/**
 * Facts about the deployed functions that both the CDK constructs and the Lambda code rely on.
 */

/** The MCP endpoint's path, on the deployed API and on the local server alike. */
export const MCP_PATH = "/mcp";

/**
 * Seconds the MCP function may run. API Gateway HTTP API stops waiting for an integration at 30 s,
 * so the function stops at 29 and waitSeconds is capped at 25.
 */
export const MCP_FUNCTION_TIMEOUT_SECONDS = 29;

export const AUTH_MODES = ["none", "api-key", "jwt"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
