// The package's runtime entry (`mcp-async-jobs/runtime`): what a job-types module and a hand-written
// handler import. The entries AsyncMcpJobs generates import these same modules, so a bundle holds one
// copy of them (and `instanceof ExternalApiError` holds across the user's code and the worker).
export { ExternalApiError } from "./shared/domain/errors.js";
export type { JobError, Progress } from "./shared/domain/job.js";
export {
  createDeadLetterHandler,
  createMcpHandler,
  createWebhookHandler,
  createWorkerHandler,
  type DeadLetterHandlerOptions,
  type HandlerOptions,
  type JobHandlerOptions,
  type McpHandlerOptions,
  type WebhookHandlerOptions,
} from "./shared/handlers.js";
export {
  type CheckOutcome,
  defineJobType,
  type JobState,
  type JobType,
  type RunContext,
  type RunJobType,
  type SubmitCheckJobType,
  type SubmitOutcome,
} from "./shared/jobs/job-type.js";
export type { HttpLambdaHandler } from "./shared/mcp/lambda-http.js";
export type { SqsBatchHandler } from "./shared/worker/sqs-handlers.js";
