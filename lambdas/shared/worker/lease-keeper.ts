import type { JobRow } from "../domain/job.js";
import type { RunAbort, WorkerDeps } from "./worker-deps.js";

/**
 * Watches the job while a run's call is under way, every WORKER_CANCEL_CHECK_MS: it reads the row
 * to see a cancel or a takeover, and renews the run's lease (a write fenced by the attempt and the
 * claim's token) often enough that a live run's lease never lapses while the store answers. A claim
 * that no live run holds is not renewed, so its lease lapses within WORKER_LEASE_MS and the next
 * delivery takes the job over.
 *
 * When the store does not answer, the lease is not renewed: the run stops itself shortly before
 * the lease it last held lapses, so it never overlaps with the run that may take the job over then.
 */
export class LeaseKeeper {
  private heldUntil: number;
  private busy = false;

  constructor(
    private readonly deps: Pick<WorkerDeps, "store" | "settings" | "clock">,
    private readonly job: JobRow,
    private readonly abort: (reason: RunAbort["reason"]) => void,
  ) {
    this.heldUntil = job.leaseExpiresAt ?? Number.POSITIVE_INFINITY;
  }

  /** Renews well before the lease lapses: five times per lease, or at each check when checks are rarer. */
  private get renewEveryMs(): number {
    return Math.max(this.deps.settings.cancelCheckMs, this.deps.settings.leaseMs / 5);
  }

  /** The run stops this long before its lease lapses: time for the last write to reach the store. */
  private get safetyMs(): number {
    return Math.min(5_000, this.deps.settings.leaseMs / 5);
  }

  /** One watch: stop when the lease is about to lapse, else renew it or read the row. */
  async tick(): Promise<void> {
    if (this.deps.clock.now() >= this.heldUntil - this.safetyMs) {
      this.abort("lease_lost");
      return;
    }
    await this.check();
  }

  /** Reads (or renews) the row now and stops the run if the job is no longer this run's. */
  async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { store, settings, clock } = this.deps;
      const token = this.job.claimToken;
      const now = clock.now();
      // Renewed once a fifth of the lease has passed: measured on the lease itself, since a claim
      // that took effect late (after a stall) starts with less than a whole lease left.
      if (token !== undefined && this.heldUntil - now <= settings.leaseMs - this.renewEveryMs) {
        const renewal = await store.renewLease(
          this.job.id,
          { attempt: this.job.attempt, token },
          settings.leaseMs,
        );
        if (renewal.claimed) {
          this.heldUntil = now + settings.leaseMs;
          return;
        }
        this.judge(renewal.job, true);
        return;
      }
      this.judge(await store.get(this.job.id), false);
    } catch {
      // The store did not answer: the lease's own time decides (tick).
    } finally {
      this.busy = false;
    }
  }

  private judge(current: JobRow | undefined, renewalLost: boolean): void {
    if (!current || current.status === "cancelled") this.abort("cancelled");
    else if (current.status !== "running" || current.attempt !== this.job.attempt) this.abort("taken_over");
    else if (renewalLost) this.abort("taken_over");
  }
}
