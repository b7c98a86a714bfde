import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
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

/** A real MCP client over Streamable HTTP. */
export async function connectClient(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: "test-client", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

export interface ToolAnswer {
  readonly isError: boolean;
  readonly text: string;
  readonly structured: Record<string, unknown> | undefined;
}

export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<ToolAnswer> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const first = result.content[0];
  return {
    isError: result.isError === true,
    text: first?.type === "text" ? first.text : "",
    structured: result.structuredContent,
  };
}

/** The job a tool answered with; fails the test when the tool answered an error. */
export async function callForJob(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<JobAnswer> {
  const answer = await callTool(client, name, args);
  if (answer.isError || !answer.structured) throw new Error(`${name} answered an error: ${answer.text}`);
  return answer.structured as unknown as JobAnswer;
}

export interface JobAnswer {
  jobId: string;
  type: string;
  status: string;
  attempt: number;
  progress?: { current: number; total?: number; message?: string };
  result?: unknown;
  error?: { code: string; message: string; retryable: boolean };
  pollAfterSeconds?: number;
  expiresAt: string;
  createdAt: string;
  finishedAt?: string;
}
