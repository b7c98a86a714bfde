import { App } from "aws-cdk-lib";
import { readAppContext } from "../lib/app-context.js";
import { addComplianceChecks } from "../lib/compliance.js";
import { McpAsyncJobsStack } from "../lib/mcp-async-jobs-stack.js";

// Environment-agnostic on purpose: synth needs no AWS account; `cdk deploy` uses the CLI's credentials.
const app = new App();
const { stackName, props } = readAppContext(app.node);
new McpAsyncJobsStack(app, stackName, {
  ...props,
  description: "Async jobs for MCP tools: remote MCP endpoint, job table, job queue and worker",
});
addComplianceChecks(app);
app.synth();
