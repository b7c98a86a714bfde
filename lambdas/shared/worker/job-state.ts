import { JOB_STATE_MAX_BYTES, type JobError } from "../domain/job.js";
import type { JobState } from "../jobs/job-type.js";

/** The state as stored: a JSON object within JOB_STATE_MAX_BYTES, or the job error that ends the job. */
export function encodeState(state: JobState): string | JobError {
  let json: string | undefined;
  try {
    json = JSON.stringify(state);
  } catch {
    json = undefined;
  }
  if (json === undefined || typeof state !== "object" || state === null || Array.isArray(state)) {
    return {
      code: "invalid_state",
      message: "The job type returned a state that is not a JSON object.",
      retryable: false,
    };
  }
  const bytes = Buffer.byteLength(json, "utf8");
  if (bytes > JOB_STATE_MAX_BYTES) {
    return {
      code: "state_too_large",
      message: `The job type's state is ${bytes} bytes of JSON; states are limited to ${JOB_STATE_MAX_BYTES} bytes.`,
      retryable: false,
    };
  }
  return json;
}

export function decodeState(stateJson: string | undefined): JobState | undefined {
  if (stateJson === undefined) return undefined;
  try {
    const state: unknown = JSON.parse(stateJson);
    return typeof state === "object" && state !== null && !Array.isArray(state)
      ? (state as JobState)
      : undefined;
  } catch {
    return undefined;
  }
}
