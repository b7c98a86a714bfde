import type { JobRow } from "../domain/job.js";
import { checkedTargetIndex, type NotificationTarget } from "../domain/notifications.js";
import {
  type AttemptRecord,
  type AttemptTarget,
  type Clock,
  type NotificationStore,
  systemClock,
} from "../domain/ports.js";
import type { MemoryJobStore } from "./memory-job-store.js";

export interface MemoryNotificationStoreOptions {
  /** The job store whose rows hold the notification state; reads go through it (expiry applied). */
  readonly jobs: MemoryJobStore;
  /** @default the system clock */
  readonly clock?: Clock;
}

/**
 * The notification state inside job rows, in memory, under the rules of `DynamoNotificationStore`
 * (the contract suite in `test/contract/notification-store.contract.ts` holds both to them). Like
 * it, its writes touch only `notifications` and `notificationsQueuedAt`, and need the row to exist
 * (not to be unexpired: DynamoDB's conditions do not read the TTL either).
 */
export class MemoryNotificationStore implements NotificationStore {
  private readonly clock: Clock;

  constructor(private readonly options: MemoryNotificationStoreOptions) {
    this.clock = options.clock ?? systemClock;
  }

  get(id: string): Promise<JobRow | undefined> {
    return this.options.jobs.get(id);
  }

  async markNotificationsQueued(id: string): Promise<boolean> {
    const row = this.options.jobs.table.peek(id);
    if (!row || row.notificationsQueuedAt !== undefined) return false;
    this.options.jobs.table.write({ ...row, notificationsQueuedAt: this.timestamp() });
    return true;
  }

  async claimAttempt(id: string, target: AttemptTarget, leaseMs: number): Promise<boolean> {
    const now = this.clock.now();
    return this.change(id, target, (current) =>
      current.attemptLeaseUntil !== undefined && current.attemptLeaseUntil >= now
        ? undefined
        : { ...current, attemptLeaseUntil: now + leaseMs },
    );
  }

  async recordAttempt(id: string, target: AttemptTarget, record: AttemptRecord): Promise<boolean> {
    return this.change(id, target, ({ attemptLeaseUntil: _lease, ...current }) => ({
      ...current,
      status: record.status,
      attempts: target.expectedAttempts + 1,
      lastAttemptAt: this.timestamp(),
      ...(record.lastError !== undefined ? { lastError: record.lastError } : {}),
    }));
  }

  async giveUp(id: string, target: AttemptTarget, lastError: string): Promise<boolean> {
    return this.change(id, target, ({ attemptLeaseUntil: _lease, ...current }) => ({
      ...current,
      status: "failed",
      lastError,
    }));
  }

  /**
   * Rewrites one target that is still the one named, `pending`, at the attempt the writer expects;
   * false when it is not, or when `next` declines (answers undefined).
   */
  private change(
    id: string,
    target: AttemptTarget,
    next: (current: NotificationTarget) => NotificationTarget | undefined,
  ): boolean {
    const index = checkedTargetIndex(target.index);
    const row = this.options.jobs.table.peek(id);
    const current = row?.notifications?.[index];
    if (!row?.notifications || !current || !ownsAttempt(current, target)) return false;
    const changed = next(current);
    if (changed === undefined) return false;
    const notifications = row.notifications.map((each, at) => (at === index ? changed : each));
    this.options.jobs.table.write({ ...row, notifications });
    return true;
  }

  private timestamp(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

/** The target is the one named, still pending, and at the attempt the writer expects. */
function ownsAttempt(current: NotificationTarget, target: AttemptTarget): boolean {
  return (
    current.webhookId === target.webhookId &&
    current.attempts === target.expectedAttempts &&
    current.status === "pending"
  );
}
