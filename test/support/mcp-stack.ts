import { inject } from "vitest";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../../local/local-stack.js";
import { uniquePrefix } from "./local-aws.js";

/** Settings that keep local runs quick: short retry backoff and frequent cancel checks. */
export const FAST_WORKER_ENV = {
  WORKER_RETRY_BASE_SECONDS: "0",
  WORKER_CANCEL_CHECK_MS: "100",
  WORKER_DEADLINE_MARGIN_MS: "500",
};

/** The whole local stack on a free port, on the emulators the global setup started. */
export function startTestStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  return startLocalStack({
    port: 0,
    prefix: uniquePrefix(),
    log: silentLog,
    ...options,
    endpoints: {
      dynamoEndpoint: inject("dynamoEndpoint"),
      sqsEndpoint: inject("sqsEndpoint"),
      region: inject("awsRegion"),
    },
    env: { ...FAST_WORKER_ENV, ...options.env },
  });
}

// The MCP client helpers live beside the local stack, shared with the benchmarks.
export {
  callForJob,
  callTool,
  connectClient,
  type JobAnswer,
  type ToolAnswer,
} from "../../cli/mcp-client.js";
