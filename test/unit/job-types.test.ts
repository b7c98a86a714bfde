import { describe, expect, it } from "vitest";
import { UnknownJobTypeError } from "../../lambdas/shared/domain/errors.js";
import { DEMO_JOB_TYPE_NAMES } from "../../lambdas/shared/jobs/demo-contract.js";
import { exportApi } from "../../lambdas/shared/jobs/export-api.js";
import { failingApi } from "../../lambdas/shared/jobs/failing-api.js";
import { flakyApi } from "../../lambdas/shared/jobs/flaky-api.js";
import { hungApi } from "../../lambdas/shared/jobs/hung-api.js";
import { createJobTypeRegistry, JOB_TYPES } from "../../lambdas/shared/jobs/registry.js";
import { slowApi } from "../../lambdas/shared/jobs/slow-api.js";

const withQuery = [slowApi, failingApi, flakyApi, hungApi, exportApi];
const withDelay = [slowApi, failingApi, flakyApi, exportApi];

describe("job type inputs", () => {
  describe.each(withQuery)("$name query", (type) => {
    it("accepts 1 to 10 000 characters", () => {
      expect(type.input.safeParse({ query: "x" }).success).toBe(true);
      expect(type.input.safeParse({ query: "x".repeat(10_000) }).success).toBe(true);
    });

    it("rejects an empty, a too long, a missing or a non-string query", () => {
      for (const input of [{ query: "" }, { query: "x".repeat(10_001) }, {}, { query: 42 }]) {
        expect(type.input.safeParse(input).success).toBe(false);
      }
    });
  });

  describe.each(withDelay)("$name delaySeconds", (type) => {
    it("accepts whole seconds from 0 to 600", () => {
      for (const delaySeconds of [0, 1, 600]) {
        expect(type.input.parse({ query: "q", delaySeconds })).toMatchObject({ delaySeconds });
      }
    });

    it("rejects negative, fractional and too large delays", () => {
      for (const delaySeconds of [-1, 0.5, 601, "5"]) {
        expect(type.input.safeParse({ query: "q", delaySeconds }).success).toBe(false);
      }
    });
  });

  it("applies the documented defaults", () => {
    expect(slowApi.input.parse({ query: "q" })).toEqual({ query: "q", delaySeconds: 15 });
    expect(failingApi.input.parse({ query: "q" })).toEqual({ query: "q", delaySeconds: 7 });
    expect(flakyApi.input.parse({ query: "q" })).toEqual({ query: "q", delaySeconds: 0, failTimes: 2 });
    expect(hungApi.input.parse({ query: "q" })).toEqual({ query: "q" });
    expect(exportApi.input.parse({ query: "q" })).toEqual({ query: "q", rows: 1_000, delaySeconds: 2 });
  });

  it("bounds export_api rows to whole numbers from 1 to 200 000", () => {
    for (const rows of [1, 200_000])
      expect(exportApi.input.parse({ query: "q", rows })).toMatchObject({ rows });
    for (const rows of [0, 200_001, 1.5, "10"]) {
      expect(exportApi.input.safeParse({ query: "q", rows }).success).toBe(false);
    }
  });

  it("export_api returns exactly the promised rows", async () => {
    const context = {
      jobId: "j",
      attempt: 1,
      signal: new AbortController().signal,
      progress: async () => {},
    };
    const result = await exportApi.run(
      exportApi.input.parse({ query: "q x", rows: 3, delaySeconds: 0 }),
      context,
    );
    expect(JSON.stringify(result)).toBe(
      '{"rows":[{"n":1,"text":"q x #1"},{"n":2,"text":"q x #2"},{"n":3,"text":"q x #3"}]}',
    );
  });

  it("bounds flaky_api failTimes to whole numbers from 0 to 10", () => {
    for (const failTimes of [0, 10]) {
      expect(flakyApi.input.parse({ query: "q", failTimes })).toMatchObject({ failTimes });
    }
    for (const failTimes of [-1, 11, 1.5]) {
      expect(flakyApi.input.safeParse({ query: "q", failTimes }).success).toBe(false);
    }
  });

  it("gives hung_api a short deadline and the others room for a long call", () => {
    expect(hungApi.timeoutMs).toBeLessThanOrEqual(15_000);
    for (const type of withDelay) expect(type.timeoutMs).toBeGreaterThan(600_000);
  });
});

describe("job type registry", () => {
  it("serves the five demo types by name", () => {
    const registry = createJobTypeRegistry();
    expect(registry.all.map((type) => type.name)).toEqual([...DEMO_JOB_TYPE_NAMES]);
    expect(DEMO_JOB_TYPE_NAMES).toEqual([
      "slow_api",
      "failing_api",
      "flaky_api",
      "hung_api",
      "batch_api",
      "export_api",
    ]);
    expect(registry.get("flaky_api")).toBe(flakyApi);
    expect(registry.all).toBe(JOB_TYPES);
  });

  it("throws UnknownJobTypeError for a name it does not hold", () => {
    expect(() => createJobTypeRegistry([slowApi]).get("hung_api")).toThrow(UnknownJobTypeError);
  });
});
