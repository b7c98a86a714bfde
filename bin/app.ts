import { App } from "aws-cdk-lib";
import { IntegrationsFileError } from "../lambdas/shared/integrations/load.js";
import { DuplicateJobTypeError } from "../lambdas/shared/jobs/job-type-names.js";
import { readAppContext } from "../lib/app-context.js";
import { addComplianceChecks } from "../lib/compliance.js";
import { McpAsyncJobsStack } from "../lib/mcp-async-jobs-stack.js";

// Environment-agnostic on purpose: synth needs no AWS account; `cdk deploy` uses the CLI's credentials.
const app = new App();
const { stackName, props } = readAppContext(app.node);
try {
  new McpAsyncJobsStack(app, stackName, {
    ...props,
    description: "Async jobs for MCP tools: remote MCP endpoint, job table, job queue and worker",
  });
} catch (error) {
  // A bad integrations file or a job type name served twice is the operator's to fix: one message, no stack trace.
  if (!(error instanceof IntegrationsFileError || error instanceof DuplicateJobTypeError)) throw error;
  console.error(error.message);
  process.exit(1);
}
addComplianceChecks(app);
app.synth();
