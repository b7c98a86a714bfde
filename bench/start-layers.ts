import { composeJobService, composeMcp } from "../lambdas/shared/app/mcp.js";
import { createAuthenticator } from "../lambdas/shared/auth/create-authenticator.js";
import { loadMcpConfig } from "../lambdas/shared/config/config.js";
import { silentLog } from "../lambdas/shared/domain/logger.js";
import { JOB_TYPES } from "../lambdas/shared/jobs/registry.js";
import { localAwsClients } from "../local/aws-clients.js";
import type { BenchStack } from "./stack.js";
import type { StartArgs } from "./start-latency.js";

/**
 * A start timed layer by layer, each layer on the same emulators and adapters as the endpoint, so
 * the difference between two neighbours is what the outer one adds. From the inside out:
 * - the use case: `JobService.start`, called directly (the same SendMessage and PutItem as the floor);
 * - the MCP app in-process: the front door, the SDK server and the tool, given a web Request, no HTTP;
 * - over HTTP: the same JSON-RPC POSTed with `fetch` to the local Function URL, which turns it into a
 *   Lambda event for the deployed handler;
 * - the MCP SDK client (the bench's `start` series): the client's own request and answer handling.
 */
export interface StartLayers {
  readonly useCase: () => Promise<void>;
  readonly inProcess: () => Promise<void>;
  readonly overHttp: () => Promise<void>;
}

const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
};

export async function startLayers(stack: BenchStack, startArgs: StartArgs): Promise<StartLayers> {
  const config = loadMcpConfig(stack.env);
  // The clients the stack's MCP function gets under its call policy.
  const caller = stack.callPolicy === "deployed" ? "mcp" : "local";
  const { dynamo, sqs, s3 } = localAwsClients(stack.endpoints, caller);
  const input = { config, clients: { dynamo, sqs, s3 }, log: silentLog, jobTypes: JOB_TYPES };
  const service = composeJobService(input);
  const app = composeMcp({ ...input, authenticator: await createAuthenticator(config, { log: silentLog }) });
  const jobType = JOB_TYPES.find((type) => type.name === "slow_api");
  if (jobType === undefined) throw new Error("slow_api is not among the job types");

  let requestId = 0;
  const startBody = (): string =>
    JSON.stringify({
      jsonrpc: "2.0",
      id: ++requestId,
      method: "tools/call",
      params: { name: "start_slow_api", arguments: startArgs },
    });
  const expectJob = (text: string): void => {
    if (!text.includes('"jobId"') || text.includes('"isError":true')) {
      throw new Error(`start_slow_api did not start a job: ${text.slice(0, 300)}`);
    }
  };
  return {
    useCase: async () => {
      await service.start({ owner: "bench-layers", jobType, input: startArgs });
    },
    inProcess: async () => {
      const request = new Request(stack.mcpUrl, { method: "POST", headers: MCP_HEADERS, body: startBody() });
      expectJob(await (await app(request, 30_000)).text());
    },
    overHttp: async () => {
      const response = await fetch(stack.mcpUrl, { method: "POST", headers: MCP_HEADERS, body: startBody() });
      expectJob(await response.text());
    },
  };
}
