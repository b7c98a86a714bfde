import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { IntegrationsFileError } from "../../lambdas/shared/integrations/load.js";
import { JOB_TYPES } from "../../lambdas/shared/jobs/registry.js";
import { AsyncMcpJobs, type AsyncMcpJobsProps } from "../../lib/async-mcp-jobs.js";
import { startLocalStack } from "../../local/local-stack.js";
import { ownSlowApi } from "../fixtures/demo-name-job-types.js";
import { wordCount } from "../fixtures/word-count-job-types.js";
import { FAST_APP } from "./synth.js";

const WORD_COUNT_MODULE = join(import.meta.dirname, "../fixtures/word-count-job-types.ts");
const DEMO_NAME_MODULE = join(import.meta.dirname, "../fixtures/demo-name-job-types.ts");
const dir = mkdtempSync(join(tmpdir(), "job-type-names-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An integrations file with one integration of this name. */
function integrationsNamed(name: string): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      integrations: [
        {
          name,
          description: "Calls an API.",
          input: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
          request: { url: "https://api.example.com/v1/{{input.text}}" },
        },
      ],
    }),
  );
  return file;
}

function synth(props: AsyncMcpJobsProps): void {
  new AsyncMcpJobs(new Stack(new App(FAST_APP), "UserStack"), "Jobs", {
    auth: { mode: "none", allowUnauthenticated: true },
    ...props,
  });
}

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("it was accepted");
}

describe("cdk synth refuses a job type name served twice, in one message naming both", () => {
  it("an integration named like a type of jobTypesModule", () => {
    const file = integrationsNamed("word_count");
    expect(() => synth({ jobTypesModule: WORD_COUNT_MODULE, integrationsFile: file })).toThrow(
      IntegrationsFileError,
    );
    const message = messageOf(() => synth({ jobTypesModule: WORD_COUNT_MODULE, integrationsFile: file }));
    expect(message).toContain(`Integrations file ${file}: integration "word_count"`);
    expect(message).toContain(`job type "word_count" of jobTypesModule ${WORD_COUNT_MODULE}`);
  });

  it("an integration named like a demo type", () => {
    const file = integrationsNamed("slow_api");
    const message = messageOf(() =>
      synth({ jobTypesModule: WORD_COUNT_MODULE, includeDemoJobTypes: true, integrationsFile: file }),
    );
    expect(message).toContain(`Integrations file ${file}: integration "slow_api"`);
    expect(message).toContain('the demo job type "slow_api"');
  });

  it("a type of jobTypesModule named like a demo type, when the demo types are served too", () => {
    const message = messageOf(() => synth({ jobTypesModule: DEMO_NAME_MODULE, includeDemoJobTypes: true }));
    expect(message).toContain(`job type "slow_api" of jobTypesModule ${DEMO_NAME_MODULE}`);
    expect(message).toContain('the demo job type "slow_api"');
    // Without the demo types the name is free.
    expect(() => synth({ jobTypesModule: DEMO_NAME_MODULE })).not.toThrow();
  });
});

/** Why the local stack refused to start; a stack that did start is stopped at once and fails the test. */
async function localRefusal(options: Parameters<typeof startLocalStack>[0]): Promise<string> {
  let stack: Awaited<ReturnType<typeof startLocalStack>>;
  try {
    stack = await startLocalStack(options);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  await stack.stop();
  throw new Error("the local stack started");
}

describe("the local stack (npm start) refuses the same before it starts anything", () => {
  it("an integration named like a served job type", async () => {
    const file = integrationsNamed("word_count");
    const message = await localRefusal({
      jobTypes: [...JOB_TYPES, wordCount],
      env: { INTEGRATIONS_FILE: file },
      port: 0,
    });
    expect(message).toContain(`Integrations file ${file}: integration "word_count"`);
    expect(message).toContain('job type "word_count"');
    expect(message).toContain("clashes with");
  });

  it("two job types of one name", async () => {
    const message = await localRefusal({ jobTypes: [...JOB_TYPES, ownSlowApi], port: 0 });
    expect(message).toContain('Two job types are named "slow_api"');
  });
});
