/** Seconds the MCP function may run: the longest waitSeconds (25) plus reads and margin. */
export const MCP_FUNCTION_TIMEOUT_SECONDS = 60;
