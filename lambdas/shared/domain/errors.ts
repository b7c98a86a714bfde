import * as z from "zod";

/** How a job failed, as its row, get_job and every other view carry it. */
export const JobErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
});
export type JobError = z.infer<typeof JobErrorSchema>;

/** The error a job cancelled by its caller ends with. */
export const CANCELLED_BY_CALLER: JobError = {
  code: "cancelled",
  message: "The job was cancelled by its caller.",
  retryable: false,
};

/** Base of every error the domain raises on purpose; anything else is a bug or an outage. */
export class DomainError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An unknown id, an expired job and another caller's job all look exactly like this. */
export class JobNotFoundError extends DomainError {
  constructor(readonly jobId: string) {
    super(`Job ${jobId} was not found or has expired.`);
  }
}

/** A conditional write lost: the job is no longer in the state the writer expected. */
export class JobStateConflictError extends DomainError {
  constructor(
    readonly jobId: string,
    readonly attemptedChange: string,
    options?: ErrorOptions,
  ) {
    super(`Job ${jobId} is no longer in a state that allows: ${attemptedChange}.`, options);
  }
}

export class IdempotencyConflictError extends DomainError {
  constructor(readonly idempotencyKey: string) {
    super(
      `idempotencyKey "${idempotencyKey}" was already used with different input; use a new key for a new job.`,
    );
  }
}

/** The start's message could not be sent; no job was created. Retryable. */
export class EnqueueFailedError extends DomainError {
  constructor(options?: ErrorOptions) {
    super(
      "The job could not be queued (the job queue is unavailable); nothing was started. Try again.",
      options,
    );
  }
}

/**
 * The start's row could not be written in time (after its message was sent). Retryable, and the
 * job may still exist: the write may have landed late, so the error names the id the start tried.
 */
export class JobNotRecordedError extends DomainError {
  constructor(
    readonly jobId: string,
    readonly idempotencyKey: string | undefined,
    options?: ErrorOptions,
  ) {
    const retry =
      idempotencyKey === undefined
        ? "Before starting it again, check with get_job, or start again with an idempotencyKey so that the job can never run twice."
        : `Starting again with the same idempotencyKey ("${idempotencyKey}") returns job ${jobId} if it exists, and otherwise starts the job anew under a new id.`;
    super(
      `Job ${jobId} could not be recorded in time (the job store did not answer), so it may or may not exist yet. ` +
        `Its message is queued and carries the job, so it normally starts once the store answers again: get_job with {"jobId":"${jobId}"} tells. ` +
        `If get_job still answers "not found" two minutes from now, the job was never created and nothing ran. ${retry}`,
      options,
    );
  }
}

export class UnknownJobTypeError extends DomainError {
  constructor(readonly jobType: string) {
    super(`Unknown job type "${jobType}".`);
  }
}

export class InvalidCursorError extends DomainError {
  constructor() {
    super("cursor is not valid: pass the nextCursor of a previous list_jobs answer unchanged.");
  }
}

export class LimitExceededError extends DomainError {
  constructor(message: string) {
    super(message);
  }
}

/** What a job type throws when the external API fails. */
export class ExternalApiError extends DomainError {
  /** The API's own `Retry-After`, in seconds: the next attempt waits this long (up to the backoff maximum). */
  readonly retryAfterSeconds?: number;

  constructor(
    message: string,
    readonly retryable: boolean,
    readonly code = retryable ? "external_api_unavailable" : "external_api_error",
    options?: ErrorOptions & { readonly retryAfterSeconds?: number },
  ) {
    super(message, options);
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toJobError(): JobError {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}
