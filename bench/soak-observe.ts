import { AsyncLocalStorage } from "node:async_hooks";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { JobStateConflictError } from "../lambdas/shared/domain/errors.js";
import type { JobStore } from "../lambdas/shared/domain/ports.js";
import { isSubmitCheck, type JobType } from "../lambdas/shared/jobs/job-type.js";
import type { LocalAwsClients } from "../local/aws-clients.js";
import { invocationAbandoned } from "../local/sqs-poller.js";

/*
 * The soak's own observers, outside the system under test: what the fake external side saw (runs,
 * submits, checks, cancels per job) and what the job table was told (terminal writes per job, and
 * when the last write of any kind landed).
 */

/** The external calls one job caused, as the fake external side counts them. */
export interface ExternalCalls {
  runs: number;
  submits: number;
  checks: number;
  cancels: number;
  /** A run (or submit) began while another live run (or submit) of the same job was still going. */
  overlaps: number;
  /** A submit began after an earlier submit of the job was recorded in the table. */
  resubmits: number;
}

interface ActiveCall {
  /** True once the invocation that made the call was abandoned: on Lambda its process is gone. */
  readonly dead: () => boolean;
}

/**
 * Wraps job types so that every call to the external API is counted per job id. Rules: two runs of
 * one job must never overlap (a run whose invocation was abandoned no longer counts as live, since
 * Lambda would have killed it); a submit must not follow a submit the table recorded; `cancel(state)`
 * is called at most once per job. A run after a transient failure or an abandoned invocation is a
 * legitimate retry and is only counted.
 */
export class ExternalLedger {
  private readonly calls = new Map<string, ExternalCalls>();
  private readonly active = new Map<string, Set<ActiveCall>>();
  private readonly submitRecorded = new Set<string>();

  of(jobId: string): ExternalCalls {
    let calls = this.calls.get(jobId);
    if (calls === undefined) {
      calls = { runs: 0, submits: 0, checks: 0, cancels: 0, overlaps: 0, resubmits: 0 };
      this.calls.set(jobId, calls);
    }
    return calls;
  }

  /** The table accepted a submit of this job (seen by the store wrapper). */
  recordedSubmit(jobId: string): void {
    this.submitRecorded.add(jobId);
  }

  wrap(types: readonly JobType[]): JobType[] {
    return types.map((type) => this.wrapOne(type));
  }

  private wrapOne(type: JobType): JobType {
    if (isSubmitCheck(type)) {
      const { cancel } = type;
      return {
        ...type,
        submit: (input, context) =>
          this.exclusive(context.jobId, "submit", () => type.submit(input, context)),
        check: (state, context) => {
          this.of(context.jobId).checks++;
          return type.check(state, context);
        },
        ...(cancel === undefined
          ? {}
          : {
              cancel: (state, context) => {
                this.of(context.jobId).cancels++;
                return cancel.call(type, state, context);
              },
            }),
      };
    }
    return {
      ...type,
      run: (input, context) => this.exclusive(context.jobId, "run", () => type.run(input, context)),
    };
  }

  private async exclusive<T>(jobId: string, kind: "run" | "submit", call: () => Promise<T>): Promise<T> {
    const calls = this.of(jobId);
    if (kind === "run") calls.runs++;
    else {
      calls.submits++;
      if (this.submitRecorded.has(jobId)) calls.resubmits++;
    }
    const active = this.active.get(jobId) ?? new Set<ActiveCall>();
    this.active.set(jobId, active);
    if ([...active].some((other) => !other.dead())) calls.overlaps++;
    const inInvocation = AsyncLocalStorage.snapshot();
    const mine: ActiveCall = { dead: () => inInvocation(() => invocationAbandoned()) };
    active.add(mine);
    try {
      return await call();
    } finally {
      active.delete(mine);
    }
  }

  totals(): ExternalCalls {
    const total: ExternalCalls = { runs: 0, submits: 0, checks: 0, cancels: 0, overlaps: 0, resubmits: 0 };
    for (const calls of this.calls.values()) {
      for (const key of Object.keys(total) as Array<keyof ExternalCalls>) total[key] += calls[key];
    }
    return total;
  }
}

/** Store methods whose success ends a job; each job must have exactly one. */
const TERMINAL_WRITES = new Set(["complete", "completeWithResultRef", "fail", "failOpen"]);
/** Store methods that only read. */
const READS = new Set(["get", "findByIdempotencyKey", "listByOwner", "countActive"]);

/**
 * Terminal writes per job and the time of the last write to the table, from the store wrappers of
 * every function and from SDK middleware on the MCP function's client (a cancel that changed the
 * row is told apart from one that found the job ended only at the request level).
 */
export class WriteLedger {
  readonly terminalWrites = new Map<string, number>();
  /** Terminal writes that failed at the client without a condition failure, per job. */
  readonly uncertainWrites = new Map<string, number>();
  /** Writes of any kind that succeeded, and when the last one did. */
  writes = 0;
  lastWriteAt = 0;

  constructor(private readonly external: ExternalLedger) {}

  private terminal(jobId: string): void {
    this.terminalWrites.set(jobId, (this.terminalWrites.get(jobId) ?? 0) + 1);
  }

  /** A terminal write whose call failed without a condition failure: it may have landed (a timed-out call applied later). */
  private uncertain(jobId: string): void {
    this.uncertainWrites.set(jobId, (this.uncertainWrites.get(jobId) ?? 0) + 1);
  }

  private wrote(): void {
    this.writes++;
    this.lastWriteAt = Date.now();
  }

  /** The worker's and dead-letter handler's store (or the MCP function's). */
  wrapStore(store: JobStore, beforeAndAfter: () => void = () => {}): JobStore {
    return new Proxy(store, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        const name = String(property);
        return async (...args: unknown[]) => {
          beforeAndAfter();
          let result: unknown;
          try {
            result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } catch (error) {
            if (TERMINAL_WRITES.has(name) && mayHaveLanded(error)) this.uncertain(String(args[0]));
            throw error;
          }
          if (!READS.has(name) && result !== false) this.wrote();
          if (TERMINAL_WRITES.has(name)) this.terminal(String(args[0]));
          if (name === "recordSubmit") this.external.recordedSubmit(String(args[0]));
          beforeAndAfter();
          return result;
        };
      },
    });
  }

  /** On the MCP function's DynamoDB client: a cancel whose conditional update succeeded ended the job. */
  watchCancels(clients: LocalAwsClients): void {
    clients.dynamo.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as {
          UpdateExpression?: string;
          Key?: { id?: { S?: string } };
          ExpressionAttributeValues?: Record<string, { S?: string }>;
        };
        const setsStatus = /#status = (:\w+)/.exec(input.UpdateExpression ?? "");
        const id = input.Key?.id?.S;
        const cancels =
          setsStatus?.[1] !== undefined &&
          input.ExpressionAttributeValues?.[setsStatus[1]]?.S === "cancelled";
        if (!cancels || id === undefined) return next(args);
        try {
          const result = await next(args);
          this.terminal(id);
          this.wrote();
          return result;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) this.uncertain(id);
          throw error;
        }
      },
      { step: "finalizeRequest", priority: "low", name: "soakCancelWrites" },
    );
  }
}

/**
 * A failed write may still have taken effect: a call that failed at the client (a timeout, a
 * throttle), or a condition failure met by the SDK's own retry of a try whose answer was lost
 * (the first try landed, so the retry's condition no longer held).
 */
function mayHaveLanded(error: unknown): boolean {
  if (!(error instanceof JobStateConflictError)) return true;
  const attempts = (error.cause as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts;
  return attempts !== undefined && attempts > 1;
}
