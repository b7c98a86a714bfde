// Every function's Lambda handler factory, for the package's runtime entry. A function's own entry
// imports only its factory (handlers/<function>.ts), so its bundle holds nothing of the others.
export { createDeadLetterHandler, type DeadLetterHandlerOptions } from "./handlers/dead-letter.js";
export { createMcpHandler, type McpHandlerOptions } from "./handlers/mcp.js";
export type { HandlerOptions, JobHandlerOptions } from "./handlers/options.js";
export { createWebhookHandler, type WebhookHandlerOptions } from "./handlers/webhooks.js";
export { createWorkerHandler } from "./handlers/worker.js";
