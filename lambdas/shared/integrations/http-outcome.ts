import { ExternalApiError } from "../domain/errors.js";
import {
  OutboundConnectionError,
  OutboundRefusedError,
  type OutboundResponse,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
} from "../outbound/outbound.js";
import { redactSecrets, TemplateError } from "./templates.js";

/** Statuses that mean "try again later"; every other non-2xx status is permanent. */
const RETRYABLE_STATUSES = new Set([408, 425, 429]);
const EXCERPT_CHARS = 200;

/** The body as JSON when it parses, else as text (what `result` holds when no `path` is given). */
export function parseBody(response: OutboundResponse): unknown {
  const text = response.body.toString("utf8");
  const type = response.headers["content-type"] ?? "";
  if (type.includes("json") || (type === "" && /^\s*[[{"]/.test(text))) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** `Retry-After` as seconds: a delay or an HTTP date; undefined when absent or unreadable. */
export function retryAfterSeconds(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/**
 * A non-2xx response as the job error it means: 408, 425, 429 and 5xx retryable (with the API's
 * Retry-After), redirects refused, anything else permanent. The error carries the status and a
 * short excerpt of the body with every secret value removed.
 */
export function responseError(
  response: OutboundResponse,
  secrets: Iterable<string>,
  what: string,
): ExternalApiError {
  const { status } = response;
  if (status >= 300 && status < 400) {
    return new ExternalApiError(
      `${what} answered HTTP ${status} (a redirect); redirects are not followed. Point the integration at the final URL.`,
      false,
      "redirect_refused",
    );
  }
  const excerpt = redactSecrets(response.body.toString("utf8"), secrets).replace(/\s+/g, " ").trim();
  const shown = excerpt.length > EXCERPT_CHARS ? `${excerpt.slice(0, EXCERPT_CHARS)}…` : excerpt;
  const message = `${what} answered HTTP ${status}${shown ? `: ${shown}` : "."}`;
  const retryable = RETRYABLE_STATUSES.has(status) || status >= 500;
  if (!retryable) return new ExternalApiError(message, false, `http_${status}`);
  const after = retryAfterSeconds(response.headers["retry-after"]);
  return new ExternalApiError(
    message,
    true,
    `http_${status}`,
    after === undefined ? {} : { retryAfterSeconds: after },
  );
}

/** A failure before any response (refused, timed out, cut off, unreachable) as the job error it means. */
export function transportError(error: unknown, what: string): unknown {
  if (error instanceof OutboundTimeoutError)
    return new ExternalApiError(`${what}: ${error.message}`, true, "timeout");
  if (error instanceof OutboundConnectionError) {
    return new ExternalApiError(`${what}: ${error.message}`, true, "connection_failed");
  }
  if (error instanceof OutboundRefusedError)
    return new ExternalApiError(`${what}: ${error.message}`, false, "outbound_refused");
  if (error instanceof OutboundResponseTooLargeError) {
    return new ExternalApiError(`${what}: ${error.message}`, false, "response_too_large");
  }
  if (error instanceof TemplateError)
    return new ExternalApiError(`${what}: ${error.message}`, false, "invalid_request");
  // An abort (cancel, deadline) passes through untouched: the worker knows its own reasons.
  return error;
}
