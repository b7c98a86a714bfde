import type { NativeAttributeValue } from "@aws-sdk/lib-dynamodb";
import { JOB_TABLE } from "../../config/table-schema.js";
import { CANCELLED_BY_CALLER } from "../../domain/errors.js";
import { epochSeconds, type JobError, type Progress } from "../../domain/job.js";
import type { LeaseFence } from "../../domain/ports.js";
import {
  fencedByCheck,
  NOT_EXPIRED,
  OPEN,
  ownedByRun,
  type TransitionSpec,
  tokenWrite,
  type UpdateParts,
} from "./conditions.js";

// A run's transitions: claim, lease, progress, the terminal writes, and the ends from outside the run.

/** queued, or running with a lapsed lease → running under a new attempt; never a submitted job. */
export function claimTransition(now: number, leaseMs: number, token: string | undefined): TransitionSpec {
  return {
    update: `SET #status = :running, #attempt = #attempt + :one, #lease = :lease, #updatedAt = :now, #startedAt = if_not_exists(#startedAt, :now) ${tokenWrite(token)}`,
    // A submitted job has its external work under way: submitting again would start it twice.
    condition: `(#status = :queued OR (#status = :running AND #lease < :nowMs)) AND attribute_not_exists(#checkSeq) AND ${NOT_EXPIRED}`,
    names: {
      "#attempt": "attempt",
      "#lease": "leaseExpiresAt",
      "#startedAt": "startedAt",
      "#checkSeq": "checkSeq",
      "#claimToken": "claimToken",
    },
    values: {
      ":running": OPEN.running,
      ":queued": OPEN.queued,
      ":one": 1,
      ":lease": now + leaseMs,
      ":nowMs": now,
      ...(token !== undefined ? { ":token": token } : {}),
    },
    now,
  };
}

/** The lease of the run `fence` names, extended; not updatedAt: a renewal changes nothing a caller sees. */
export function renewLeaseUpdate(now: number, fence: LeaseFence, leaseMs: number): UpdateParts {
  return {
    UpdateExpression: "SET #lease = :lease",
    ConditionExpression: `attribute_exists(#id) AND ${ownedByRun} AND #claimToken = :token AND ${NOT_EXPIRED}`,
    ExpressionAttributeNames: {
      "#id": JOB_TABLE.partitionKey,
      "#status": "status",
      "#attempt": "attempt",
      "#lease": "leaseExpiresAt",
      "#claimToken": "claimToken",
      "#expiresAt": JOB_TABLE.ttlAttribute,
    },
    ExpressionAttributeValues: {
      ":running": OPEN.running,
      ":attempt": fence.attempt,
      ":token": fence.token,
      ":lease": now + leaseMs,
      ":nowSeconds": epochSeconds(now),
    },
  };
}

/** Progress of the run that owns the job, never backwards. */
export function progressTransition(attempt: number, progress: Progress): TransitionSpec {
  return {
    update: "SET #progress = :progress, #updatedAt = :now",
    condition: `${ownedByRun} AND ${NOT_EXPIRED} AND (attribute_not_exists(#progress) OR #progress.#current <= :current)`,
    names: { "#attempt": "attempt", "#progress": "progress", "#current": "current" },
    values: {
      ":running": OPEN.running,
      ":attempt": attempt,
      ":progress": progress,
      ":current": progress.current,
    },
  };
}

/** A terminal write, with the status it writes. */
export interface FinishSpec extends TransitionSpec {
  readonly status: "completed" | "failed";
}

/** The run that owns the job ends it, writing its result or error beside the final status. */
export function finishTransition(
  attempt: number,
  status: "completed" | "failed",
  outcomeAttribute: "resultJson" | "resultRef" | "error",
  outcome: NativeAttributeValue,
  check: number | undefined,
): FinishSpec {
  const names = {
    "#outcome": outcomeAttribute,
    "#finishedAt": "finishedAt",
    "#activeOwner": "activeOwner",
    "#lease": "leaseExpiresAt",
    "#lastError": "lastError",
    "#nextCheckAt": "nextCheckAt",
  };
  const values = { ":outcome": outcome, ":final": status };
  const fence =
    check === undefined
      ? {
          condition: `${ownedByRun} AND ${NOT_EXPIRED}`,
          names: { ...names, "#attempt": "attempt" },
          values: { ...values, ":running": OPEN.running, ":attempt": attempt },
        }
      : fencedByCheck({ attempt, check }, names, values);
  return {
    status,
    update: `SET #outcome = :outcome, #status = :final, #finishedAt = :now, #updatedAt = :now REMOVE #activeOwner, #lease, #lastError, #nextCheckAt`,
    ...fence,
  };
}

/** queued or running → failed, whoever holds it. */
export function failOpenTransition(error: JobError): TransitionSpec {
  return {
    update:
      "SET #status = :failed, #error = :error, #finishedAt = :now, #updatedAt = :now REMOVE #activeOwner, #lease, #nextCheckAt",
    condition: `(#status = :queued OR #status = :running) AND ${NOT_EXPIRED}`,
    names: {
      "#error": "error",
      "#finishedAt": "finishedAt",
      "#activeOwner": "activeOwner",
      "#lease": "leaseExpiresAt",
      "#nextCheckAt": "nextCheckAt",
    },
    values: { ":failed": "failed", ":error": error, ":queued": OPEN.queued, ":running": OPEN.running },
  };
}

/** The lease given up after a transient failure, so that the next delivery may claim the job. */
export function releaseForRetryTransition(attempt: number, error: JobError): TransitionSpec {
  return {
    update: "SET #lastError = :error, #lease = :zero, #updatedAt = :now",
    condition: `${ownedByRun} AND ${NOT_EXPIRED}`,
    names: { "#attempt": "attempt", "#lastError": "lastError", "#lease": "leaseExpiresAt" },
    values: { ":running": OPEN.running, ":attempt": attempt, ":error": error, ":zero": 0 },
  };
}

/** The owner's queued or running job → cancelled. */
export function cancelTransition(owner: string): TransitionSpec {
  return {
    update:
      "SET #status = :cancelled, #finishedAt = :now, #updatedAt = :now, #error = :error REMOVE #activeOwner, #lease, #nextCheckAt",
    condition: `#owner = :owner AND (#status = :queued OR #status = :running) AND ${NOT_EXPIRED}`,
    names: {
      "#owner": "owner",
      "#finishedAt": "finishedAt",
      "#error": "error",
      "#activeOwner": "activeOwner",
      "#lease": "leaseExpiresAt",
      "#nextCheckAt": "nextCheckAt",
    },
    values: {
      ":cancelled": "cancelled",
      ":owner": owner,
      ":queued": OPEN.queued,
      ":running": OPEN.running,
      ":error": CANCELLED_BY_CALLER,
    },
  };
}
