import type { NativeAttributeValue, TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import type { CheckFence } from "../../domain/ports.js";

/*
 * The fragments every state transition of the job row is made of. The transitions themselves are
 * pure builders (run-transitions.ts, submit-check-transitions.ts): each returns the expression
 * parts, and the store sends them. A `TransitionSpec` goes through the store's fenced write, which
 * adds `attribute_exists(#id)`, the names `#id`, `#status`, `#updatedAt`, `#expiresAt` and the
 * values `:now` (ISO) and `:nowSeconds`; an `UpdateParts` is sent as it is.
 */

export type Item = Record<string, NativeAttributeValue>;

/** One conditional change of a job row, written by the store's fenced update. */
export interface TransitionSpec {
  readonly update: string;
  readonly condition: string;
  readonly names: Record<string, string>;
  readonly values: Item;
  /** The time the values were computed at (epoch ms); the write takes the clock's when absent. */
  readonly now?: number;
}

type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
/** A PutItem that may also stand in a transaction. */
export type TransactPut = NonNullable<TransactItem["Put"]>;
/** An UpdateItem that may also stand in a transaction. */
export type TransactUpdate = NonNullable<TransactItem["Update"]>;

/** A whole update: nothing is added to it on the way out. */
export interface UpdateParts {
  readonly UpdateExpression: string;
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Item;
}

export const OPEN = { queued: "queued", running: "running" } as const;

/** Condition shared by every write that must not touch an expired row. */
export const NOT_EXPIRED = "#expiresAt > :nowSeconds";

/** The run numbered `:attempt` holds the job. */
export const ownedByRun = "#status = :running AND #attempt = :attempt";

/** A claim with a token writes it; one without removes the previous claim's. */
export function tokenWrite(token: string | undefined): string {
  return token === undefined ? "REMOVE #claimToken" : ", #claimToken = :token";
}

/** A write that only check number `fence.check` of the attempt that owns the job may make. */
export function fencedByCheck(
  fence: CheckFence,
  names: Record<string, string>,
  values: Item,
): Pick<TransitionSpec, "condition" | "names" | "values"> {
  return {
    condition: `${ownedByRun} AND #checkSeq = :check AND ${NOT_EXPIRED}`,
    names: { ...names, "#attempt": "attempt", "#checkSeq": "checkSeq" },
    values: { ...values, ":running": OPEN.running, ":attempt": fence.attempt, ":check": fence.check },
  };
}
