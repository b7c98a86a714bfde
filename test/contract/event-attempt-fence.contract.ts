import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { Clock, EventAttemptFence } from "../../lambdas/shared/domain/ports.js";
import { TestClock } from "../support/worker-kit.js";

/** A fence with its own clock, and a way to get the id of a job that exists. */
export interface FenceSetup {
  readonly fenceWith: (clock?: Clock) => EventAttemptFence;
  readonly newJobId: () => Promise<string>;
}

const eventId = (): string => `evt_${randomBytes(20).toString("hex")}`;
const LEASE_MS = 10_000;

/** The rules every event attempt fence keeps: one holder per attempt, a made attempt stays made, no going back. */
export function describeEventAttemptFenceContract(adapter: string, setup: () => Promise<FenceSetup>): void {
  describe(`EventAttemptFence contract: ${adapter}`, () => {
    let fenceWith: FenceSetup["fenceWith"];
    let newJobId: FenceSetup["newJobId"];

    beforeAll(async () => {
      ({ fenceWith, newJobId } = await setup());
    });

    it("one claim per attempt while its lease runs; a lapsed lease may be taken again", async () => {
      const clock = new TestClock();
      const fence = fenceWith(clock);
      const [job, event] = [await newJobId(), eventId()];
      expect(await fence.claimEventAttempt(job, event, 1, LEASE_MS)).toBe(true);
      expect(await fence.claimEventAttempt(job, event, 1, LEASE_MS)).toBe(false);
      clock.advance(LEASE_MS + 1_000);
      expect(await fence.claimEventAttempt(job, event, 1, LEASE_MS)).toBe(true);
    });

    it("a made attempt is never claimed again, however late; the next attempt may be", async () => {
      const clock = new TestClock();
      const fence = fenceWith(clock);
      const [job, event] = [await newJobId(), eventId()];
      expect(await fence.claimEventAttempt(job, event, 1, LEASE_MS)).toBe(true);
      await fence.settleEventAttempt(job, event, 1);
      clock.advance(10 * LEASE_MS);
      expect(await fence.claimEventAttempt(job, event, 1, LEASE_MS)).toBe(false);
      expect(await fence.claimEventAttempt(job, event, 2, LEASE_MS)).toBe(true);
      // A stale message of an earlier attempt sends nothing once a later one began.
      expect(await fence.claimEventAttempt(job, event, 1, LEASE_MS)).toBe(false);
    });

    it("events of one job, and one event of two jobs, are fenced apart", async () => {
      const fence = fenceWith();
      const [job, other, first, second] = [await newJobId(), await newJobId(), eventId(), eventId()];
      expect(await fence.claimEventAttempt(job, first, 1, LEASE_MS)).toBe(true);
      expect(await fence.claimEventAttempt(job, second, 1, LEASE_MS)).toBe(true);
      expect(await fence.claimEventAttempt(other, first, 1, LEASE_MS)).toBe(true);
    });

    it("settling an attempt that is not the latest changes nothing", async () => {
      const clock = new TestClock();
      const fence = fenceWith(clock);
      const [job, event] = [await newJobId(), eventId()];
      expect(await fence.claimEventAttempt(job, event, 2, LEASE_MS)).toBe(true);
      await fence.settleEventAttempt(job, event, 1);
      clock.advance(LEASE_MS + 1_000);
      expect(await fence.claimEventAttempt(job, event, 2, LEASE_MS)).toBe(true);
    });
  });
}
