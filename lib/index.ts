// The package's root entry (`mcp-async-jobs`): the construct for your own CDK app and the types its
// props and public members use. Job types and handlers come from `mcp-async-jobs/runtime`.
export { JobAlarms, type JobAlarmsProps } from "./alarms.js";
export { AsyncMcpJobs, type AsyncMcpJobsProps } from "./async-mcp-jobs.js";
export { DeadLetterHandler, type DeadLetterHandlerProps } from "./dead-letter-handler.js";
export { JobQueue, type JobQueueProps } from "./job-queue.js";
export { JobTable, type JobTableProps } from "./job-table.js";
export { ServiceFunction, type ServiceFunctionProps } from "./lambda-function.js";
export { McpAsyncJobsStack, type McpAsyncJobsStackProps } from "./mcp-async-jobs-stack.js";
export { AUTH_MODES, type AuthMode, McpAuth, type McpAuthProps } from "./mcp-auth.js";
export { MCP_PATH, McpEndpoint, type McpEndpointProps } from "./mcp-endpoint.js";
export { ResultBucket, type ResultBucketProps } from "./result-bucket.js";
export { JobWorker, type JobWorkerProps } from "./worker.js";
