import { Logger } from "@aws-lambda-powertools/logger";
import { createAuthenticator } from "../shared/auth/create-authenticator.js";
import { loadMcpConfig } from "../shared/config/config.js";
import { createHttpLambdaHandler } from "../shared/mcp/lambda-http.js";
import { createMcpApp } from "../shared/mcp/mcp-app.js";
import { createAwsClients } from "../shared/wiring.js";

const logger = new Logger({ serviceName: "mcp-async-jobs-mcp" });
const config = loadMcpConfig();

export const handler = createHttpLambdaHandler(
  createMcpApp(config, createAwsClients(), await createAuthenticator(config, { log: logger }), logger),
);
