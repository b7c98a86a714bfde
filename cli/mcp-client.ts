import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";
import { type JobView, JobViewSchema } from "../lambdas/shared/domain/job.js";

/**
 * Longer than any tool call of this system (waitSeconds ≤ 25 inside a 29 s function timeout) and
 * than the benchmark's blocking 15 s call; shorter than the SDK's own minute.
 */
const CALL_TIMEOUT_MS = 45_000;

/** A job answer holds exactly the job view: a field the view does not declare fails the call. */
const JobAnswerSchema = z.strictObject(JobViewSchema.shape);

/** A job as start_*, get_job and cancel_job answer it. */
export type JobAnswer = JobView;

/** What a tool call answered: the error flag, the first text block and the structured content. */
export interface ToolAnswer {
  readonly isError: boolean;
  readonly text: string;
  readonly structured: Record<string, unknown> | undefined;
  /** The result's `_meta`, when it has one. */
  readonly meta?: Record<string, unknown>;
}

/** A real MCP SDK client over Streamable HTTP, as an agent holds one; `headers` go with every request. */
export async function connectClient(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: "mcp-async-jobs-client", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

/** Calls a tool; `signal` gives up on the call (the server still finishes it). */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<ToolAnswer> {
  const result = (await client.callTool({ name, arguments: args }, undefined, {
    timeout: CALL_TIMEOUT_MS,
    ...(signal ? { signal } : {}),
  })) as CallToolResult;
  const first = result.content[0];
  return {
    isError: result.isError === true,
    text: first?.type === "text" ? first.text : "",
    structured: result.structuredContent,
    ...(result._meta ? { meta: result._meta } : {}),
  };
}

/** Calls a tool that answers with a job; throws with the tool's text when it answered an error. */
export async function callForJob(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<JobAnswer> {
  const answer = await callTool(client, name, args);
  if (answer.isError || answer.structured === undefined) {
    throw new Error(`${name} answered an error: ${answer.text}`);
  }
  return JobAnswerSchema.parse(answer.structured);
}
