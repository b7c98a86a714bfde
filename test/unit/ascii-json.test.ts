import { describe, expect, it } from "vitest";
import { asciiJson } from "../../lambdas/shared/adapters/sqs-job-queue.js";

describe("asciiJson: the job queue's message bodies", () => {
  const value = { query: 'naïve 日本 🚀 "q" \\ \u007f', nested: { list: ["é", "\u2028"] }, n: 1 };

  it("writes every character past ASCII as an escape, so any SQS accepts the body", () => {
    const body = asciiJson(value);
    expect(body).toMatch(/^[\x20-\x7e]*$/);
    expect(body).toContain("\\ud83d\\ude80");
  });

  it("parses back to the same value", () => {
    expect(JSON.parse(asciiJson(value))).toEqual(value);
  });
});
