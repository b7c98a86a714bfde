import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { isTerminal, type JobView, JobViewSchema } from "../lambdas/shared/domain/job.js";

/** Longer than any single call here (waitSeconds ≤ 25, a blocking 15 s call), shorter than forever. */
const CALL_TIMEOUT_MS = 45_000;

/** A real MCP client over Streamable HTTP, as an agent would hold one. */
export async function connectClient(url: string, name = "bench"): Promise<Client> {
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

export async function connectClients(url: string, count: number): Promise<Client[]> {
  const clients: Client[] = [];
  for (let index = 0; index < count; index++) clients.push(await connectClient(url, `bench-${index}`));
  return clients;
}

export async function closeClients(clients: readonly Client[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
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
  const result = (await client.callTool({ name, arguments: args }, undefined, {
    timeout: CALL_TIMEOUT_MS,
  })) as CallToolResult;
  const first = result.content[0];
  return {
    isError: result.isError === true,
    text: first?.type === "text" ? first.text : "",
    structured: result.structuredContent,
  };
}

/** Calls a tool that answers with a job view; a tool error fails the benchmark loudly. */
export async function callForJob(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<JobView> {
  const answer = await callTool(client, name, args);
  if (answer.isError) throw new Error(`${name} answered an error: ${answer.text}`);
  return JobViewSchema.parse(answer.structured);
}

export function isDone(job: JobView): boolean {
  return isTerminal(job.status);
}
