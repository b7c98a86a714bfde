import { describe, expect, it } from "vitest";
import { loadLocalConfig, loadMcpConfig, loadWorkerConfig } from "../../lambdas/shared/config/config.js";
import { ConfigError } from "../../lambdas/shared/config/env-reader.js";

const base = { JOB_TABLE_NAME: "jobs", JOB_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/jobs" };

describe("config from the environment", () => {
  it("applies the documented defaults", () => {
    expect(loadWorkerConfig(base)).toEqual({
      tableName: "jobs",
      queueUrl: base.JOB_QUEUE_URL,
      maxReceiveCount: 5,
      resultMaxBytes: 10_000_000,
      resultInlineBytes: 16_000,
      resultBucketName: undefined,
      retryBaseSeconds: 2,
      retryMaxSeconds: 300,
      deadlineMarginMs: 5_000,
      cancelCheckMs: 2_000,
      leaseMs: 55_000,
      storePatienceMs: 60_000,
    });
    expect(loadLocalConfig({})).toEqual({
      workerTimeoutSeconds: 900,
      batchApiCheckSeconds: 15,
      callPolicy: "local",
    });
    expect(loadMcpConfig(base)).toMatchObject({
      jobTtlSeconds: 86_400,
      authMode: "none",
      auth: { mode: "none" },
      allowedOrigins: [],
      maxBodyBytes: 1024 * 1024,
      callerMaxActiveJobs: 0,
      callerMaxStartsPerMinute: 0,
      resultBucketName: undefined,
      resultPresignedUrls: false,
    });
  });

  it("bounds the result sizes: inline at most 16 000 bytes, in all at most 100 MB", () => {
    const worker = loadWorkerConfig({
      ...base,
      JOB_RESULT_INLINE_BYTES: "0",
      JOB_RESULT_MAX_BYTES: "100000000",
      JOB_RESULT_BUCKET_NAME: "my-results",
    });
    expect(worker).toMatchObject({
      resultInlineBytes: 0,
      resultMaxBytes: 100_000_000,
      resultBucketName: "my-results",
    });
    expect(() => loadWorkerConfig({ ...base, JOB_RESULT_INLINE_BYTES: "16001" })).toThrow(
      /JOB_RESULT_INLINE_BYTES/,
    );
    expect(() => loadWorkerConfig({ ...base, JOB_RESULT_MAX_BYTES: "100000001" })).toThrow(
      /JOB_RESULT_MAX_BYTES/,
    );
    expect(() => loadWorkerConfig({ ...base, JOB_RESULT_BUCKET_NAME: "Not A Bucket" })).toThrow(
      /JOB_RESULT_BUCKET_NAME/,
    );
    expect(loadMcpConfig({ ...base, JOB_RESULT_PRESIGNED_URLS: "true" }).resultPresignedUrls).toBe(true);
    expect(() => loadMcpConfig({ ...base, JOB_RESULT_PRESIGNED_URLS: "yes" })).toThrow(
      /JOB_RESULT_PRESIGNED_URLS/,
    );
  });

  it("reads values as the stack sets them (strings, comma lists)", () => {
    const config = loadMcpConfig({
      ...base,
      JOB_TTL_SECONDS: "3600",
      ALLOWED_ORIGINS: "https://a.example, https://b.example",
      CALLER_MAX_ACTIVE_JOBS: "20",
    });
    expect(config.jobTtlSeconds).toBe(3600);
    expect(config.allowedOrigins).toEqual(["https://a.example", "https://b.example"]);
    expect(config.callerMaxActiveJobs).toBe(20);
  });

  it("fails at once on bad values, naming every bad variable", () => {
    const load = (): unknown =>
      loadMcpConfig({ JOB_QUEUE_URL: "not a url", JOB_TTL_SECONDS: "60", AUTH_MODE: "basic" });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/JOB_TABLE_NAME/);
    expect(load).toThrow(/JOB_QUEUE_URL/);
    expect(load).toThrow(/JOB_TTL_SECONDS/);
    expect(load).toThrow(/AUTH_MODE/);
    expect(() => loadWorkerConfig({ ...base, WORKER_RETRY_BASE_SECONDS: "soon" })).toThrow(
      /WORKER_RETRY_BASE_SECONDS/,
    );
    expect(() => loadLocalConfig({ BATCH_API_CHECK_SECONDS: "0" })).toThrow(/BATCH_API_CHECK_SECONDS/);
    expect(() => loadLocalConfig({ WORKER_TIMEOUT_SECONDS: "901" })).toThrow(/WORKER_TIMEOUT_SECONDS/);
  });

  it("reads the local stack's worker timeout and batch_api's check interval", () => {
    expect(loadLocalConfig({ WORKER_TIMEOUT_SECONDS: "3", BATCH_API_CHECK_SECONDS: "2" })).toEqual({
      workerTimeoutSeconds: 3,
      batchApiCheckSeconds: 2,
      callPolicy: "local",
    });
  });

  it("reads AWS_CALL_POLICY: local (the default) or deployed, and nothing else", () => {
    expect(loadLocalConfig({ AWS_CALL_POLICY: "deployed" }).callPolicy).toBe("deployed");
    expect(loadLocalConfig({ AWS_CALL_POLICY: "local" }).callPolicy).toBe("local");
    for (const bad of ["Deployed", "aws", ""]) {
      expect(() => loadLocalConfig({ AWS_CALL_POLICY: bad })).toThrow(
        /AWS_CALL_POLICY: must be "local" \(patient AWS calls, the default\) or "deployed"/,
      );
    }
  });

  it("reads the worker's lease and store patience", () => {
    const config = loadWorkerConfig({ ...base, WORKER_LEASE_MS: "20000", WORKER_STORE_PATIENCE_MS: "0" });
    expect(config).toMatchObject({ leaseMs: 20_000, storePatienceMs: 0 });
    expect(() => loadWorkerConfig({ ...base, WORKER_LEASE_MS: "10" })).toThrow(/WORKER_LEASE_MS/);
  });
});
