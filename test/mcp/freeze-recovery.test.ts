import { describe, expect, it } from "vitest";
import { API_GATEWAY_LIMIT_MS, failedChecks, runFreezeRecovery } from "../../bench/freeze-recovery.js";

// The short form of `npm run freeze-recovery`: its own DynamoDB Local, frozen twice for 10 s under
// the deployed call budgets while clients start and read jobs.
describe("DynamoDB Local frozen twice with starts and reads in flight (AWS_CALL_POLICY=deployed)", () => {
  it("every call answers in time, every job ends, the ids named in start errors are found, no job runs twice", async () => {
    const result = await runFreezeRecovery({
      freezes: 2,
      freezeSeconds: 10,
      clients: 3,
      loadSeconds: 3,
      settleSeconds: 60,
    });
    console.info(
      `freeze recovery: ${result.cycles.map((c) => `${c.calls} calls (longest ${c.longestCallMs} ms), ${c.idsNamedInErrors} ids named in errors, thaw→terminal ≤ ${c.longestThawToTerminalMs} ms`).join("; ")}`,
    );
    expect(failedChecks(result)).toEqual([]);
    for (const cycle of result.cycles) {
      // The freeze really caught calls in flight, and the store's silence reached the clients.
      expect(cycle.callsDuringFreeze).toBeGreaterThan(0);
      expect(cycle.errorAnswers).toBeGreaterThan(0);
      expect(cycle.terminal).toBeGreaterThan(0);
    }
    expect(result.longestCallMs).toBeLessThan(API_GATEWAY_LIMIT_MS);
  }, 240_000);
});
