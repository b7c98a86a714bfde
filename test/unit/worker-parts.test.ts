import { describe, expect, it } from "vitest";
import * as z from "zod";
import { MemoryJobStore } from "../../lambdas/shared/adapters/memory-job-store.js";
import { JOB_STATE_MAX_BYTES, type JobRow } from "../../lambdas/shared/domain/job.js";
import { type Log, silentLog } from "../../lambdas/shared/domain/logger.js";
import { defineJobType, type JobState, type SubmitCheckJobType } from "../../lambdas/shared/jobs/job-type.js";
import { createJobTypeRegistry } from "../../lambdas/shared/jobs/registry.js";
import {
  afterLostWrite,
  callCancel,
  cancelOnce,
  tookEffect,
} from "../../lambdas/shared/worker/cancel-once.js";
import { decodeState, encodeState } from "../../lambdas/shared/worker/job-state.js";
import { runWithDeadline, timeoutError, toJobError } from "../../lambdas/shared/worker/run-kit.js";
import {
  isLostToAnother,
  MalformedMessageError,
  parseJobMessage,
  RunAbort,
  type WorkerDeps,
} from "../../lambdas/shared/worker/worker-deps.js";
import { FrozenClock, newJob, testSettings } from "../support/worker-kit.js";

// The small parts the worker's shapes share, each on its own: the state codec, the cancel-once
// rule, the lost-write checks and the abort reasons.

describe("the job state codec", () => {
  it("stores a JSON object as its JSON, and refuses anything else with the error that ends the job", () => {
    expect(encodeState({ externalId: "x-1", n: 2 })).toBe('{"externalId":"x-1","n":2}');
    const notAnObject = (state: unknown) => encodeState(state as JobState);
    for (const state of [null, "text", 42, [1, 2], () => 1, undefined]) {
      expect(notAnObject(state), JSON.stringify(String(state))).toEqual({
        code: "invalid_state",
        message: "The job type returned a state that is not a JSON object.",
        retryable: false,
      });
    }
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(encodeState(circular)).toMatchObject({ code: "invalid_state" });
  });

  it("keeps a state of exactly the limit in UTF-8 bytes, and refuses one byte more", () => {
    const padding = (bytes: number): JobState => ({ s: "é".repeat((bytes - 8) / 2) }); // {"s":""} is 8 bytes
    const atLimit = padding(JOB_STATE_MAX_BYTES);
    expect(Buffer.byteLength(JSON.stringify(atLimit), "utf8")).toBe(JOB_STATE_MAX_BYTES);
    expect(typeof encodeState(atLimit)).toBe("string");
    const over = { s: `${"é".repeat((JOB_STATE_MAX_BYTES - 8) / 2)}x` };
    expect(encodeState(over)).toEqual({
      code: "state_too_large",
      message: `The job type's state is ${JOB_STATE_MAX_BYTES + 1} bytes of JSON; states are limited to ${JOB_STATE_MAX_BYTES} bytes.`,
      retryable: false,
    });
  });

  it("reads back only a stored JSON object", () => {
    expect(decodeState('{"a":1}')).toEqual({ a: 1 });
    for (const stored of [undefined, "", "{broken", "null", "[1]", '"text"', "7"]) {
      expect(decodeState(stored), String(stored)).toBeUndefined();
    }
  });
});

describe("abort reasons and job messages", () => {
  it("a cancel or a takeover is another's job now; a deadline or a lapsing lease is this run's own failure", () => {
    expect(isLostToAnother(new RunAbort("cancelled"))).toBe(true);
    expect(isLostToAnother(new RunAbort("taken_over"))).toBe(true);
    expect(isLostToAnother(new RunAbort("timeout"))).toBe(false);
    expect(isLostToAnother(new RunAbort("lease_lost"))).toBe(false);
  });

  it("a malformed message names what is wrong on one line", () => {
    expect(() => parseJobMessage("not json")).toThrow(new MalformedMessageError("body is not JSON"));
    let thrown: unknown;
    try {
      parseJobMessage(JSON.stringify({ jobId: 7 }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MalformedMessageError);
    const message = (thrown as Error).message;
    expect(message).toMatch(/^Malformed job message: .*jobId/);
    expect(message).not.toContain("\n");
  });
});

/** A submit/check type whose cancel is recorded, and behaves as `cancel` says. */
function cancellable(cancel?: (state: JobState, signal: AbortSignal) => Promise<void>): SubmitCheckJobType & {
  cancels: JobState[];
} {
  const cancels: JobState[] = [];
  const type = defineJobType({
    name: "ext",
    title: "ext",
    description: "An external service that can stop its work.",
    input: z.object({}),
    timeoutMs: 5_000,
    maxAttempts: 3,
    pollAfterSeconds: 5,
    maxDurationSeconds: 3_600,
    submit: async () => ({ state: {} }),
    check: async () => ({ done: null }),
    ...(cancel === undefined
      ? {}
      : {
          async cancel(state: JobState, context: { signal: AbortSignal }) {
            cancels.push(state);
            await cancel(state, context.signal);
          },
        }),
  });
  return Object.assign(type, { cancels });
}

function logRecorder(): Log & { lines: string[] } {
  const lines: string[] = [];
  const record = (message: string): void => void lines.push(message);
  return { lines, info: record, warn: record, error: record };
}

async function world(type: SubmitCheckJobType, log: Log = silentLog) {
  const clock = new FrozenClock(Date.now());
  const store = new MemoryJobStore({ clock });
  const deps: WorkerDeps = {
    store,
    registry: createJobTypeRegistry([type]),
    settings: testSettings({ deadlineMarginMs: 1_000 }),
    clock,
    log,
  };
  const { job } = await store.create(newJob({ type: "ext" }));
  const claimed = await store.claim(job.id, 30_000, "token-1");
  if (!claimed.claimed) throw new Error("the test job could not be claimed");
  return { store, deps, job: claimed.job };
}

const delivery = (remainingMs = 30_000) => ({
  body: "{}",
  receiveCount: 1,
  remainingTimeMs: () => remainingMs,
});

describe("cancel once", () => {
  it("calls the type's cancel once for an ended job, whatever the deliveries", async () => {
    const type = cancellable(async () => {});
    const { store, deps, job } = await world(type);
    await store.cancel(job.id, job.owner);
    const ended = (await store.get(job.id)) as JobRow;
    await cancelOnce(deps, delivery(), ended, type, { externalId: "e-1" });
    await cancelOnce(deps, delivery(), ended, type, { externalId: "e-1" });
    expect(type.cancels).toEqual([{ externalId: "e-1" }]);
  });

  it("does nothing for a type without cancel, and does not take the marker", async () => {
    const type = cancellable();
    const { store, deps, job } = await world(type);
    await store.cancel(job.id, job.owner);
    await cancelOnce(deps, delivery(), (await store.get(job.id)) as JobRow, type, {});
    expect((await store.get(job.id))?.cancelCalledAt).toBeUndefined();
  });

  it("a cancel that fails is logged, not thrown", async () => {
    const type = cancellable(async () => {
      throw new Error("the service said no");
    });
    const log = logRecorder();
    const { store, deps, job } = await world(type, log);
    await store.cancel(job.id, job.owner);
    await expect(cancelOnce(deps, delivery(), (await store.get(job.id)) as JobRow, type, {})).resolves.toBe(
      undefined,
    );
    expect(type.cancels).toHaveLength(1);
    expect(log.lines).toContain("The external cancel failed; it is not retried");
  });

  it("a cancel that hangs is cut at the delivery's remaining time less the margin", async () => {
    const type = cancellable(
      (_state, signal) =>
        new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    const log = logRecorder();
    const { store, deps, job } = await world(type, log);
    await store.cancel(job.id, job.owner);
    const started = Date.now();
    await cancelOnce(deps, delivery(1_300), (await store.get(job.id)) as JobRow, type, {});
    // Cut by the delivery's time (1 300 ms left less the 1 000 ms margin), not the type's 5 s timeout.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(log.lines).toContain("The external cancel failed; it is not retried");
  });

  it("callCancel with no time left still gives the call a moment, and throws what it threw", async () => {
    const type = cancellable(async () => {
      throw new Error("refused");
    });
    const { job } = await world(type);
    await expect(callCancel(type, job, {}, 0)).rejects.toThrow("refused");
    await expect(callCancel(cancellable(), job, {}, 0)).resolves.toBeUndefined();
  });

  it("after a lost write, a cancelled job gets its cancel; a job still running does not", async () => {
    const type = cancellable(async () => {});
    const { store, deps, job } = await world(type);
    expect(await afterLostWrite(deps, delivery(), job.id, type, { n: 1 })).toEqual({ kind: "done" });
    expect(type.cancels).toEqual([]);
    await store.cancel(job.id, job.owner);
    await afterLostWrite(deps, delivery(), job.id, type, { n: 2 });
    expect(type.cancels).toEqual([{ n: 2 }]);
    expect(await afterLostWrite(deps, delivery(), "no-such-job", type, {})).toEqual({ kind: "done" });
  });
});

describe("tookEffect: a write whose condition failed may have been this run's own", () => {
  it("is true only for this run's running row that shows the write", async () => {
    const type = cancellable();
    const { store, deps, job } = await world(type);
    const always = (): boolean => true;
    expect(await tookEffect(deps, job, always)).toBe(true);
    expect(await tookEffect(deps, job, () => false)).toBe(false);
    expect(await tookEffect(deps, job, always, job.attempt + 1)).toBe(false);
    expect(await tookEffect(deps, { ...job, id: "no-such-job" }, always)).toBe(false);
    await store.cancel(job.id, job.owner);
    expect(await tookEffect(deps, job, always)).toBe(false);
  });
});

describe("one call under its deadline (run-kit)", () => {
  it("a call past its budget is stopped with a timeout, which the job records as retryable", async () => {
    const type = cancellable();
    const { deps, job } = await world(type);
    const call = runWithDeadline(deps, job, 30, () => new Promise<never>(() => {}));
    const stopped = await call.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(stopped).toBeInstanceOf(RunAbort);
    expect((stopped as RunAbort).reason).toBe("timeout");
    expect(toJobError(stopped, 30_000, silentLog, {})).toEqual({
      code: "timeout",
      message: "The external call did not answer within 30 s.",
      retryable: true,
    });
  });

  it("a progress report refused because the job was cancelled stops the run at once", async () => {
    const type = cancellable();
    const { store, deps, job } = await world(type);
    // The watcher would look only after a minute: the refused progress is what notices.
    const slowWatcher = { ...deps, settings: { ...deps.settings, cancelCheckMs: 60_000 } };
    const stopped = await runWithDeadline(slowWatcher, job, 10_000, async (context) => {
      await store.cancel(job.id, job.owner);
      await context.progress({ current: 1, total: 2 });
      return new Promise<never>(() => {});
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((stopped as RunAbort).reason).toBe("cancelled");
    expect(isLostToAnother(stopped as RunAbort)).toBe(true);
  });

  it("a run that stopped because its lease was about to lapse records store_unavailable, retryable", () => {
    expect(toJobError(new RunAbort("lease_lost"), 30_000, silentLog, {})).toEqual({
      code: "store_unavailable",
      message:
        "The job store did not answer for longer than the run's lease, so the run stopped to let a later attempt take the job over safely.",
      retryable: true,
    });
    expect(timeoutError(0)).toEqual({
      code: "timeout",
      message: "The external call did not answer within 0 s.",
      retryable: true,
    });
  });
});
