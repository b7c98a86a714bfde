import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DomainError } from "../domain/errors.js";
import type { JobRunStore } from "../domain/ports.js";
import type { Delivery, WorkerDeps } from "./worker-deps.js";

/** Random per claim: the row's `claimToken` tells this delivery's claim from any other. */
export function newClaimToken(): string {
  return randomUUID();
}

const FIRST_PAUSE_MS = 500;
const LONGEST_PAUSE_MS = 5_000;

/**
 * Runs a store call, trying again while the store does not answer, for up to the worker's
 * `storePatienceMs` and never into the deadline margin. Only unanswered calls are tried again: a
 * lost condition (a domain error) is an answer. Every call given here is safe to repeat: a
 * conditional write whose first try took effect either finds its own effect (a claim's token) or
 * loses its condition, which its caller reads as "the job moved on".
 */
export async function patiently<T>(
  deps: Pick<WorkerDeps, "settings" | "clock" | "log">,
  delivery: Pick<Delivery, "remainingTimeMs">,
  what: string,
  call: () => Promise<T>,
): Promise<T> {
  const { settings, clock, log } = deps;
  const giveUpAt = clock.now() + settings.storePatienceMs;
  let pauseMs = FIRST_PAUSE_MS;
  let tries = 0;
  for (;;) {
    try {
      const answer = await call();
      if (tries > 0) log.info("The job store answered again", { call: what, tries: tries + 1 });
      return answer;
    } catch (error) {
      tries++;
      const outOfTime =
        clock.now() + pauseMs > giveUpAt || delivery.remainingTimeMs() - pauseMs < settings.deadlineMarginMs;
      if (error instanceof DomainError || outOfTime) throw error;
      if (tries === 1) log.warn("The job store did not answer; trying again", { call: what, error });
      await sleep(pauseMs);
      pauseMs = Math.min(pauseMs * 2, LONGEST_PAUSE_MS);
    }
  }
}

/**
 * The run store of one delivery, whose claim and outcome writes outlast a store that stalls for a
 * while, so that a run whose work is done records it instead of leaving it to be run again.
 */
export function patientRunStore(
  deps: Pick<WorkerDeps, "store" | "settings" | "clock" | "log">,
  delivery: Pick<Delivery, "remainingTimeMs">,
): JobRunStore {
  const store = deps.store;
  const patient =
    <A extends unknown[], R>(what: string, call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      patiently(deps, delivery, what, () => call(...args));
  return {
    get: (id) => store.get(id),
    failOpen: (id, error) => store.failOpen(id, error),
    claim: patient("claim", (id: string, leaseMs: number, token?: string) => store.claim(id, leaseMs, token)),
    claimCheck: patient("claimCheck", (id: string, check: number, leaseMs: number, token?: string) =>
      store.claimCheck(id, check, leaseMs, token),
    ),
    renewLease: patient("renewLease", store.renewLease.bind(store)),
    adopt: patient("adopt", store.adopt.bind(store)),
    recordSubmit: patient("recordSubmit", store.recordSubmit.bind(store)),
    recordCheck: patient("recordCheck", store.recordCheck.bind(store)),
    retryCheck: patient("retryCheck", store.retryCheck.bind(store)),
    markCancelCalled: (id) => store.markCancelCalled(id),
    progress: (id, attempt, progress) => store.progress(id, attempt, progress),
    complete: patient("complete", store.complete.bind(store)),
    completeWithResultRef: patient("completeWithResultRef", store.completeWithResultRef.bind(store)),
    fail: patient("fail", store.fail.bind(store)),
    releaseForRetry: patient("releaseForRetry", store.releaseForRetry.bind(store)),
  };
}
