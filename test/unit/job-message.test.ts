import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MalformedMessageError, parseJobMessage } from "../../lambdas/shared/worker/worker-deps.js";

describe("parseJobMessage", () => {
  it("reads the job id and type", () => {
    const jobId = randomUUID();
    expect(parseJobMessage(JSON.stringify({ jobId, type: "slow_api" }))).toEqual({ jobId, type: "slow_api" });
  });

  it("ignores extra keys", () => {
    const jobId = randomUUID();
    expect(parseJobMessage(JSON.stringify({ jobId, type: "slow_api", extra: 1 }))).toEqual({
      jobId,
      type: "slow_api",
    });
  });

  it.each([
    ["a body that is not JSON", "not json", /not JSON/],
    ["an empty body", "", /not JSON/],
    ["JSON that is not an object", "42", /Malformed job message/],
    ["a missing type", JSON.stringify({ jobId: randomUUID() }), /type/],
    ["a missing job id", JSON.stringify({ type: "slow_api" }), /jobId/],
    ["a job id that is not a uuid", JSON.stringify({ jobId: "job-1", type: "slow_api" }), /jobId/],
    ["an empty type", JSON.stringify({ jobId: randomUUID(), type: "" }), /type/],
  ])("rejects %s with MalformedMessageError", (_, body, detail) => {
    expect(() => parseJobMessage(body)).toThrow(MalformedMessageError);
    expect(() => parseJobMessage(body)).toThrow(detail);
  });
});
