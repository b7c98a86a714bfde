import { type Clock, type EventAttemptFence, systemClock } from "../domain/ports.js";

/** The event attempt fence in memory, for unit tests; it passes the same contract suite as DynamoDB. */
export class MemoryEventAttemptFence implements EventAttemptFence {
  private readonly attempts = new Map<string, { attempt: number; leaseUntil: number }>();

  constructor(private readonly clock: Clock = systemClock) {}

  async claimEventAttempt(
    jobId: string,
    eventId: string,
    attempt: number,
    leaseMs: number,
  ): Promise<boolean> {
    const key = `${jobId}:${eventId}`;
    const current = this.attempts.get(key);
    const now = this.clock.now();
    const free =
      current === undefined ||
      current.attempt < attempt ||
      (current.attempt === attempt && current.leaseUntil < now);
    if (!free) return false;
    this.attempts.set(key, { attempt, leaseUntil: now + leaseMs });
    return true;
  }

  async settleEventAttempt(jobId: string, eventId: string, attempt: number): Promise<void> {
    const current = this.attempts.get(`${jobId}:${eventId}`);
    if (current?.attempt === attempt) current.leaseUntil = Number.MAX_SAFE_INTEGER;
  }
}
