import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../local/local-stack.js";
import { jobTypes } from "../fixtures/word-count-job-types.js";
import { callForJob, callTool, connectClient, startTestStack } from "../support/mcp-stack.js";
import { expectNothingCreated } from "../support/nothing-created.js";

let stack: LocalStack;
let client: Client;

beforeAll(async () => {
  // The same handler factories the Lambda entries use, given the user's job types only.
  stack = await startTestStack({ jobTypes });
  client = await connectClient(stack.mcpUrl);
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

describe("a custom jobTypes list without the demo job types", () => {
  it("lists only the user's start tool beside the job tools", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      ["cancel_job", "get_job", "job_stats", "list_jobs", "read_job_result", "start_word_count"].sort(),
    );
  });

  it("the local worker runs the user's job type to completion", async () => {
    const started = await callForJob(client, "start_word_count", { text: "one two three" });
    const done = await callForJob(client, "get_job", { jobId: started.jobId, waitSeconds: 20 });
    expect(done.status).toBe("completed");
    expect(done.result).toEqual({ words: 3 });
  });

  it("a demo tool is unknown here and its call creates nothing", async () => {
    const answer = await expectNothingCreated(stack, () =>
      callTool(client, "start_slow_api", { query: "q", delaySeconds: 0 }).catch((error: unknown) => ({
        isError: true,
        text: error instanceof Error ? error.message : String(error),
        structured: undefined,
      })),
    );
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/start_slow_api/);
  });
});
