import { type EventSubscription, EventSubscriptionSchema } from "../domain/events.js";
import { epochSeconds } from "../domain/job.js";
import { type Clock, type EventSubscriptionStore, systemClock } from "../domain/ports.js";

/** The subscription store in memory, for unit tests; it passes the same contract suite as DynamoDB. */
export class MemorySubscriptionStore implements EventSubscriptionStore {
  constructor(
    private readonly clock: Clock = systemClock,
    private readonly rows = new Map<string, EventSubscription>(),
  ) {}

  /** A view of the same subscriptions that reads time from `clock`. */
  withClock(clock: Clock): MemorySubscriptionStore {
    return new MemorySubscriptionStore(clock, this.rows);
  }

  async get(owner: string, id: string): Promise<EventSubscription | undefined> {
    const row = this.rows.get(keyOf(owner, id));
    return row !== undefined && this.live(row) ? structuredClone(row) : undefined;
  }

  async listActive(owner: string): Promise<EventSubscription[]> {
    return [...this.rows.values()]
      .filter((row) => row.owner === owner && this.live(row))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((row) => structuredClone(row));
  }

  async put(subscription: EventSubscription): Promise<void> {
    const row = EventSubscriptionSchema.parse(subscription);
    this.rows.set(keyOf(row.owner, row.id), structuredClone(row));
  }

  async remove(owner: string, id: string): Promise<boolean> {
    const key = keyOf(owner, id);
    const row = this.rows.get(key);
    this.rows.delete(key);
    return row !== undefined && this.live(row);
  }

  private live(row: EventSubscription): boolean {
    return row.expiresAt > epochSeconds(this.clock.now());
  }
}

function keyOf(owner: string, id: string): string {
  return JSON.stringify([owner, id]);
}
