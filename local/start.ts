import { generateWebhookSecret } from "../lambdas/shared/adapters/standard-webhooks.js";
import { ENV } from "../lambdas/shared/config/env-names.js";
import { prepareLocalIntegrations } from "./examples.js";
import { prepareLocalAuth } from "./local-auth.js";
import { startLocalStack } from "./local-stack.js";
import { STATS_INTERVAL_ENV, statsIntervalSeconds, summaryLine } from "./stats-summary.js";

/** `npm start`: the whole system on this machine, until Ctrl-C. */
// The SDK warns about Node 20 on every start; Lambda runs Node 22, and the local stack is fine on 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const port = Number(process.env.PORT ?? 3000);
let statsEvery: number | undefined;
try {
  statsEvery = statsIntervalSeconds(process.env);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
const startedAt = Date.now();
console.log("Starting DynamoDB Local, the SQS emulator, the MCP endpoint and the worker…");

const auth = prepareLocalAuth(process.env);
// Completion webhooks are signed; without WEBHOOK_SECRET a fresh one is made for this run.
const generatedWebhookSecret = process.env[ENV.webhookSecret] ? undefined : generateWebhookSecret();
const integrations = await prepareLocalIntegrations({
  ...auth.env,
  ...(generatedWebhookSecret ? { [ENV.webhookSecret]: generatedWebhookSecret } : {}),
}).catch((error: unknown) => {
  console.error(`The example API could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
const stack = await startLocalStack({ port, env: integrations.env }).catch(async (error: unknown) => {
  await integrations.stop();
  if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
    console.error(
      `Port ${port} is in use. Stop the other server, or pick a port: PORT=3001 npm start (PORT=0: any free port).`,
    );
  } else {
    console.error(error instanceof Error ? error.message : error);
  }
  process.exit(1);
});

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  void Promise.all([stack.stop(), integrations.stop()]).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => shutdown("SIGINT"));
// The job metrics as one line: every STATS_INTERVAL_SECONDS, and whenever SIGUSR2 arrives.
const printStats = (): void => console.log(`[stats] ${summaryLine(stack.metrics)}`);
process.on("SIGUSR2", printStats);
if (statsEvery !== undefined) setInterval(printStats, statsEvery * 1000).unref();
process.on("SIGTERM", () => shutdown("SIGTERM"));
// `npm start` runs this under a shell that does not pass SIGTERM on: when the parent goes, stop too.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) shutdown("parent process exited");
}, 500).unref();

console.log(
  `Ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (auth: ${process.env.AUTH_MODE ?? "none"}; AWS calls: ${stack.callPolicy} budgets, AWS_CALL_POLICY=local|deployed).`,
);
console.log(`MCP endpoint: ${stack.mcpUrl}`);
if (integrations.examplesApi) {
  console.log(
    `Example integrations (start_summarize_text, start_render_report, start_create_invoice; from OpenAPI: start_get_quote, start_translate_text, start_export_data, start_archive_mailbox) call the fake API at ${integrations.examplesApi.origin}.`,
  );
} else {
  console.log(`Integrations: ${integrations.env.INTEGRATIONS_FILE}`);
}
if (auth.devKey) console.log(`API key (development): ${auth.devKey}`);
if (generatedWebhookSecret) {
  console.log(`Webhook secret (development; verify deliveries with it): ${generatedWebhookSecret}`);
}
if (process.env.AUTH_MODE === "jwt") {
  console.log(`Protected resource metadata: ${stack.origin}/.well-known/oauth-protected-resource`);
}
console.log("Try it with the MCP Inspector (Node 22+):");
const header = auth.authorizationHeader ? ` --header "${auth.authorizationHeader}"` : "";
console.log(
  `  npx @modelcontextprotocol/inspector --cli ${stack.mcpUrl} --transport http --method tools/list${header}`,
);
console.log("Or with the jobs CLI (live progress; npm run jobs -- --help):");
// Quoted so a placeholder such as <access token> pastes as a value, not as shell redirections.
const keyEnv = auth.bearer ? `MCP_API_KEY='${auth.bearer}' ` : "";
console.log(
  `  ${keyEnv}npm run jobs -- --url ${stack.mcpUrl} start slow_api --arg query=hello --arg delaySeconds=5 --wait`,
);
console.log(
  `Job metrics: kill -USR2 ${process.pid} prints a summary line${statsEvery !== undefined ? `; one every ${statsEvery} s` : ` (${STATS_INTERVAL_ENV}=60 prints one a minute)`}.`,
);
console.log("Press Ctrl-C to stop.");
