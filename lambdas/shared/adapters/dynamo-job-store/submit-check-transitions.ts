import { JOB_TABLE } from "../../config/table-schema.js";
import type { JobError } from "../../domain/job.js";
import type { CheckFence, PendingCheck, SubmittedWork } from "../../domain/ports.js";
import {
  fencedByCheck,
  type Item,
  NOT_EXPIRED,
  OPEN,
  ownedByRun,
  type TransitionSpec,
  tokenWrite,
  type UpdateParts,
} from "./conditions.js";

// A submit/check job's transitions: each check holds, records or retries the job under its
// `checkSeq`, and the job type's `cancel(state)` is called once.

/** A submitted job whose lease lapsed, held for check number `check`; the attempt stays. */
export function claimCheckTransition(
  now: number,
  check: number,
  leaseMs: number,
  token: string | undefined,
): TransitionSpec {
  return {
    update: `SET #lease = :lease, #updatedAt = :now ${tokenWrite(token)}`,
    condition: `#status = :running AND #checkSeq = :check AND (attribute_not_exists(#lease) OR #lease < :nowMs) AND ${NOT_EXPIRED}`,
    names: { "#lease": "leaseExpiresAt", "#checkSeq": "checkSeq", "#claimToken": "claimToken" },
    values: {
      ":running": OPEN.running,
      ":check": check,
      ":lease": now + leaseMs,
      ":nowMs": now,
      ...(token !== undefined ? { ":token": token } : {}),
    },
    now,
  };
}

/** The submitted work's state, check number 1, the lease given up. */
export function recordSubmitTransition(attempt: number, work: SubmittedWork): TransitionSpec {
  return {
    update:
      "SET #stateJson = :state, #checkSeq = :one, #nextCheckAt = :nextCheckAt, #deadlineAt = :deadlineAt, #submittedAt = :now, #lease = :zero, #updatedAt = :now REMOVE #lastError",
    condition: `${ownedByRun} AND attribute_not_exists(#checkSeq) AND ${NOT_EXPIRED}`,
    names: {
      "#attempt": "attempt",
      "#stateJson": "stateJson",
      "#checkSeq": "checkSeq",
      "#nextCheckAt": "nextCheckAt",
      "#deadlineAt": "deadlineAt",
      "#submittedAt": "submittedAt",
      "#lease": "leaseExpiresAt",
      "#lastError": "lastError",
    },
    values: {
      ":running": OPEN.running,
      ":attempt": attempt,
      ":state": work.stateJson,
      ":one": 1,
      ":nextCheckAt": work.nextCheckAt,
      ":deadlineAt": work.deadlineAt,
      ":zero": 0,
    },
  };
}

/** A pending check: what it reported, `checkSeq` + 1, the lease given up. */
export function recordCheckTransition(fence: CheckFence, pending: PendingCheck): TransitionSpec {
  const sets = [
    "#checkSeq = #checkSeq + :one",
    "#nextCheckAt = :nextCheckAt",
    "#lease = :zero",
    "#updatedAt = :now",
  ];
  const names: Record<string, string> = {
    "#nextCheckAt": "nextCheckAt",
    "#lastError": "lastError",
    "#lease": "leaseExpiresAt",
  };
  const values: Item = { ":one": 1, ":nextCheckAt": pending.nextCheckAt, ":zero": 0 };
  const optional = [
    ["stateJson", pending.stateJson],
    ["progress", pending.progress],
    ["estimatedCompletion", pending.estimatedCompletion],
  ] as const;
  for (const [attribute, value] of optional) {
    if (value === undefined) continue;
    sets.push(`#${attribute} = :${attribute}`);
    names[`#${attribute}`] = attribute;
    values[`:${attribute}`] = value;
  }
  return { update: `SET ${sets.join(", ")} REMOVE #lastError`, ...fencedByCheck(fence, names, values) };
}

/** A check that failed transiently: attempt + 1, `lastError`, the lease given up. */
export function retryCheckTransition(fence: CheckFence, error: JobError): TransitionSpec {
  return {
    update: "SET #attempt = #attempt + :one, #lastError = :error, #lease = :zero, #updatedAt = :now",
    ...fencedByCheck(
      fence,
      { "#lastError": "lastError", "#lease": "leaseExpiresAt" },
      { ":one": 1, ":error": error, ":zero": 0 },
    ),
  };
}

/** The one marker of an ended job's `cancel(state)` call; not updatedAt: an ended job's visible fields never change. */
export function markCancelCalledUpdate(now: number): UpdateParts {
  return {
    UpdateExpression: "SET #cancelCalledAt = :now",
    ConditionExpression:
      "attribute_exists(#id) AND attribute_not_exists(#cancelCalledAt) AND (#status = :cancelled OR #status = :failed)",
    ExpressionAttributeNames: {
      "#id": JOB_TABLE.partitionKey,
      "#cancelCalledAt": "cancelCalledAt",
      "#status": "status",
    },
    ExpressionAttributeValues: {
      ":now": new Date(now).toISOString(),
      ":cancelled": "cancelled",
      ":failed": "failed",
    },
  };
}

/** A failed `cancel(state)` call counted and its marker given back, while fewer than `maxCalls` failed. */
export function releaseFailedCancelUpdate(maxCalls: number): UpdateParts {
  return {
    UpdateExpression: "REMOVE #cancelCalledAt ADD #cancelFailures :one",
    ConditionExpression:
      "attribute_exists(#id) AND attribute_exists(#cancelCalledAt) AND (attribute_not_exists(#cancelFailures) OR #cancelFailures < :lastRetry)",
    ExpressionAttributeNames: {
      "#id": JOB_TABLE.partitionKey,
      "#cancelCalledAt": "cancelCalledAt",
      "#cancelFailures": "cancelFailures",
    },
    ExpressionAttributeValues: { ":one": 1, ":lastRetry": maxCalls - 1 },
  };
}
