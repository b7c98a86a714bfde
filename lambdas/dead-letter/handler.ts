import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoJobStore } from "../shared/adapters/dynamo-job-store.js";
import { loadDeadLetterConfig } from "../shared/config/config.js";
import { createAwsClients } from "../shared/wiring.js";
import { createDeadLetterHandler } from "../shared/worker/sqs-handlers.js";

const logger = new Logger({ serviceName: "mcp-async-jobs-dead-letter" });
const { tableName } = loadDeadLetterConfig();

export const handler = createDeadLetterHandler({
  store: new DynamoJobStore({ client: createAwsClients().dynamo, tableName }),
  log: logger,
});
