import { describe, expect, it } from "vitest";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import type { JobRow } from "../../lambdas/shared/domain/job.js";
import { silentLog } from "../../lambdas/shared/domain/logger.js";
import { RESULT_CONTENT_TYPE, type ResultWriter, resultKey } from "../../lambdas/shared/domain/results.js";
import { sha256 } from "../../lambdas/shared/usecases/canonical-json.js";
import { completeJob } from "../../lambdas/shared/worker/complete-job.js";
import { FrozenClock, newJob, testSettings } from "../support/worker-kit.js";

/** A result store that keeps what it is given, or fails every put. */
function resultStore(fails = false): ResultWriter & { objects: Map<string, { body: string; type: string }> } {
  const objects = new Map<string, { body: string; type: string }>();
  return {
    objects,
    async put(key, body, type) {
      if (fails) throw new Error("S3 unavailable (injected)");
      objects.set(key, { body, type });
    },
  };
}

async function running(store: MemoryJobStore): Promise<JobRow> {
  const { job } = await store.create(newJob());
  const claim = await store.claim(job.id, 60_000);
  if (!claim.claimed) throw new Error("not claimed");
  return claim.job;
}

const settings = testSettings({ resultInlineBytes: 20, resultMaxBytes: 100 });

describe("completeJob", () => {
  it("keeps a result of up to resultInlineBytes in the row, and none in the store", async () => {
    const store = new MemoryJobStore({ clock: new FrozenClock(Date.now()) });
    const results = resultStore();
    const job = await running(store);
    const inline = "x".repeat(18); // 20 bytes of JSON
    const completion = await completeJob({ store, results, settings, log: silentLog }, job, inline);
    expect(completion).toEqual({ kind: "completed", row: await store.get(job.id) });
    expect(await store.get(job.id)).toMatchObject({
      status: "completed",
      resultJson: JSON.stringify(inline),
    });
    expect(results.objects.size).toBe(0);
  });

  it("stores a larger result as an object and the row keeps its reference, size and hash", async () => {
    const store = new MemoryJobStore({ clock: new FrozenClock(Date.now()) });
    const results = resultStore();
    const job = await running(store);
    const large = "é".repeat(10); // 12 characters of JSON, 22 bytes
    const completion = await completeJob({ store, results, settings, log: silentLog }, job, large);
    expect(completion).toEqual({ kind: "completed", row: await store.get(job.id) });
    const json = JSON.stringify(large);
    expect(results.objects.get(resultKey(job.id))).toEqual({ body: json, type: RESULT_CONTENT_TYPE });
    const row = await store.get(job.id);
    expect(row).toMatchObject({
      status: "completed",
      resultRef: {
        key: resultKey(job.id),
        bytes: 22,
        sha256: sha256(json),
        contentType: RESULT_CONTENT_TYPE,
      },
    });
    expect(row?.resultJson).toBeUndefined();
  });

  it("a result over resultMaxBytes is refused for good, naming the limit", async () => {
    const store = new MemoryJobStore({ clock: new FrozenClock(Date.now()) });
    const job = await running(store);
    const outcome = await completeJob(
      { store, results: resultStore(), settings, log: silentLog },
      job,
      "x".repeat(99),
    );
    expect(outcome).toEqual({
      kind: "unstored",
      error: {
        code: "result_too_large",
        message: "The result is 101 bytes; results are limited to 100 bytes.",
        retryable: false,
      },
    });
    expect(await store.get(job.id)).toMatchObject({ status: "running" });
  });

  it("without a result store, the inline limit is the limit", async () => {
    const store = new MemoryJobStore({ clock: new FrozenClock(Date.now()) });
    const job = await running(store);
    const outcome = await completeJob({ store, settings, log: silentLog }, job, "x".repeat(19));
    expect(outcome).toEqual({
      kind: "unstored",
      error: {
        code: "result_too_large",
        message: "The result is 21 bytes; results are limited to 20 bytes.",
        retryable: false,
      },
    });
    const completion = await completeJob({ store, settings, log: silentLog }, job, null);
    expect(completion).toEqual({ kind: "completed", row: await store.get(job.id) });
    expect(await store.get(job.id)).toMatchObject({ status: "completed", resultJson: "null" });
  });

  it("a result store that fails leaves the job running, with a retryable error", async () => {
    const store = new MemoryJobStore({ clock: new FrozenClock(Date.now()) });
    const job = await running(store);
    const outcome = await completeJob(
      { store, results: resultStore(true), settings, log: silentLog },
      job,
      "x".repeat(50),
    );
    expect(outcome).toEqual({
      kind: "unstored",
      error: {
        code: "result_store_unavailable",
        message: "The result could not be stored (the result store is unavailable).",
        retryable: true,
      },
    });
    expect(await store.get(job.id)).toMatchObject({ status: "running" });
  });

  it("a job cancelled meanwhile: the completion moves on, inline or stored; other errors propagate", async () => {
    const store = new MemoryJobStore({ clock: new FrozenClock(Date.now()) });
    for (const result of ["small", "x".repeat(50)]) {
      const job = await running(store);
      await store.cancel(job.id, job.owner);
      expect(
        await completeJob({ store, results: resultStore(), settings, log: silentLog }, job, result),
      ).toEqual({
        kind: "moved_on",
      });
      expect(await store.get(job.id)).toMatchObject({ status: "cancelled" });
    }
    const job = await running(store);
    const broken = Object.assign(Object.create(store) as MemoryJobStore, {
      complete: () => Promise.reject(new Error("DynamoDB unavailable (injected)")),
    });
    await expect(completeJob({ store: broken, settings, log: silentLog }, job, "x")).rejects.toThrow(
      /unavailable/,
    );
  });
});
