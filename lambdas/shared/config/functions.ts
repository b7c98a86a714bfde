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

/**
 * Job messages per worker invocation. One: an invocation holds its concurrency slot until its
 * longest job ends, so with larger batches a short job can wait behind a long one although
 * most slots are free (bench/results shows the effect).
 */
export const WORKER_BATCH_SIZE = 1;

/** Worker invocations at once, and so jobs running at once: protects the slow API and the bill. */
export const WORKER_MAX_CONCURRENCY = 20;
