import { InvalidCursorError } from "../domain/errors.js";
import { type JobRow, JobRowSchema } from "../domain/job.js";
import { isOwnedBy } from "../domain/owner-scope.js";

/** Where a listing stopped: the last job's key in the owner index (DynamoDB's LastEvaluatedKey). */
export type ListPosition = Pick<JobRow, "id" | "owner" | "createdAt">;

const PositionSchema = JobRowSchema.pick({ id: true, owner: true, createdAt: true }).strict();

/** Opaque to callers: base64url JSON, so it never shows an owner in the clear. */
export function encodeListCursor(position: Readonly<Record<string, unknown>>): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

/** A cursor of another owner, a forged and a garbage cursor all fail alike. */
export function decodeListCursor(cursor: string, owner: string): ListPosition {
  try {
    const position = PositionSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (!isOwnedBy(position, owner)) throw new InvalidCursorError();
    return position;
  } catch {
    throw new InvalidCursorError();
  }
}
