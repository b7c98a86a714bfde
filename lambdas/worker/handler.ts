import { Logger } from "@aws-lambda-powertools/logger";
import { loadWorkerConfig } from "../shared/config/config.js";
import { createAwsClients, createWorkerDeps } from "../shared/wiring.js";
import { createWorkerHandler } from "../shared/worker/sqs-handlers.js";

const logger = new Logger({ serviceName: "mcp-async-jobs-worker" });

export const handler = createWorkerHandler(createWorkerDeps(loadWorkerConfig(), createAwsClients(), logger));
