import { ExternalApiError } from "../domain/errors.js";

/**
 * Exponential backoff with jitter: about base × 2^(attempt−1), capped, drawn from the upper half
 * so retries of many jobs spread out without ever coming back at once.
 */
export function retryDelaySeconds(
  attempt: number,
  baseSeconds: number,
  maxSeconds: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * The delay before the next attempt of a failed run or check: the API's own `Retry-After` when it
 * sent one (it knows its load better than our backoff does), capped by the backoff maximum so a
 * hostile or broken header cannot park a job; otherwise the backoff.
 */
export function failureDelaySeconds(
  attempt: number,
  settings: { readonly retryBaseSeconds: number; readonly retryMaxSeconds: number },
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterSeconds !== undefined)
    return Math.max(0, Math.min(retryAfterSeconds, settings.retryMaxSeconds));
  return retryDelaySeconds(attempt, settings.retryBaseSeconds, settings.retryMaxSeconds, random);
}

/** The `Retry-After` an external API error carries, in seconds, if any. */
export function retryAfterOf(error: unknown): number | undefined {
  return error instanceof ExternalApiError ? error.retryAfterSeconds : undefined;
}
