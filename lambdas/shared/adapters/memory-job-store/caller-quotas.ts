import { ACTIVE_STATUSES } from "../../domain/job.js";
import { isOwnedBy } from "../../domain/owner-scope.js";
import type { CallerQuotaStore, Clock } from "../../domain/ports.js";
import { isLive } from "./conditions.js";
import type { MemoryJobTable } from "./job-table.js";

/** The per-caller limits over the in-memory job table, under the rules of `DynamoCallerQuotas`. */
export class MemoryCallerQuotas implements CallerQuotaStore {
  constructor(
    private readonly table: MemoryJobTable,
    private readonly clock: Clock,
  ) {}

  async countActive(owner: string, atMost: number): Promise<number> {
    const now = this.clock.now();
    let count = 0;
    for (const row of this.table.peekAll()) {
      if (isOwnedBy(row, owner) && ACTIVE_STATUSES.includes(row.status) && isLive(row, now)) count++;
    }
    return Math.min(count, atMost);
  }

  async tryRecordStart(owner: string, limit: number, atMs?: number): Promise<boolean> {
    const minute = Math.floor((atMs ?? this.clock.now()) / 60_000);
    const { starts } = this.table;
    // Past minutes never count again (DynamoDB's TTL deletes their counters).
    for (const key of starts.keys()) {
      if (Number(key.slice(key.lastIndexOf("#") + 1)) < minute - 1) starts.delete(key);
    }
    const key = startsKeyOf(owner, minute);
    const counted = starts.get(key) ?? 0;
    if (counted >= limit) return false;
    starts.set(key, counted + 1);
    return true;
  }

  async releaseStart(owner: string, atMs: number): Promise<void> {
    const key = startsKeyOf(owner, Math.floor(atMs / 60_000));
    const counted = this.table.starts.get(key) ?? 0;
    if (counted > 0) this.table.starts.set(key, counted - 1);
  }
}

function startsKeyOf(owner: string, minute: number): string {
  return `${JSON.stringify(owner)}#${minute}`;
}
