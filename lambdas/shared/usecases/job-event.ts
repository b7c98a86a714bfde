import { isTerminal, type JobRow, type JobView, toJobView } from "../domain/job.js";
import type { JobEventType } from "../domain/notifications.js";

/** The body of a completion webhook (Standard Webhooks' `type`, `timestamp`, `data`). */
export interface JobEvent {
  readonly type: JobEventType;
  /** When the job ended (ISO 8601): the same on every retry. */
  readonly timestamp: string;
  /** The job exactly as get_job shows it, without the delivery's own state. */
  readonly data: JobView;
}

/** The event of an ended job; undefined while the job is still open. */
export function jobEvent(row: JobRow): JobEvent | undefined {
  if (!isTerminal(row.status)) return undefined;
  const { notification: _delivery, ...data } = toJobView(row);
  return {
    type: `job.${row.status}` as JobEventType,
    timestamp: row.finishedAt ?? row.updatedAt,
    data,
  };
}
