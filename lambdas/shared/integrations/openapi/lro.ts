import { ExternalApiError } from "../../domain/errors.js";
import type { JobError, Progress } from "../../domain/job.js";
import type { CheckOutcome } from "../../jobs/job-type.js";
import type { SecretValues } from "../integration-job-type.js";
import { redactSecrets } from "../templates.js";
import type { OpenApiOperation } from "./operation.js";

/** What a long-running operation keeps in its row between checks: URLs without any secret. */
export type LroState =
  | { readonly kind: "aip"; readonly name: string; readonly requestUrl: string; readonly cancelUrl?: string }
  | {
      readonly kind: "status";
      readonly pollUrl: string;
      readonly requestUrl: string;
      readonly locationUrl?: string;
      readonly cancelUrl?: string;
    }
  | { readonly kind: "location"; readonly pollUrl: string; readonly requestUrl: string };

/** A Google AIP-151 long-running operation. */
export interface Aip151Operation {
  readonly name: string;
  readonly done: boolean;
  readonly error?: { readonly code?: unknown; readonly message?: unknown };
  readonly response?: unknown;
  readonly metadata?: { readonly progressPercent?: unknown };
}

/** `url` when the document declares a cancel operation (`method`) that matches it, else undefined. */
export function declaredCancel(
  operation: OpenApiOperation,
  base: URL,
  method: "DELETE" | "POST",
  url: string,
): string | undefined {
  const target = new URL(url);
  if (target.origin !== base.origin || !target.pathname.startsWith(base.pathname)) return undefined;
  let relative: string;
  try {
    relative = `/${decodeURI(target.pathname.slice(base.pathname.length))}`;
  } catch {
    return undefined;
  }
  const matches = operation.cancels.some(
    (cancel) =>
      cancel.method === method &&
      new RegExp(
        `^${cancel.path
          .split(/\{[^}]+\}/)
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
          .join(method === "POST" ? ".+" : "[^/]+")}$`,
      ).test(relative),
  );
  return matches ? url : undefined;
}

/** Where an AIP-151 operation `name` is read: under the base URL, each segment encoded. */
export function aipUrl(base: URL, name: string, what: string): string {
  const segments = name.split("/");
  if (segments.some((segment) => segment === "" || segment === "." || segment === "..")) {
    throw new ExternalApiError(
      `${what}: the operation name the API returned is not a resource name.`,
      false,
      "invalid_response",
    );
  }
  return new URL(segments.map(encodeURIComponent).join("/"), base).href;
}

/** The job error of an AIP-151 operation that ended with an error. */
export function aipFailed(operationBody: Aip151Operation, secrets: SecretValues): JobError {
  return {
    code: operationBody.error?.code === undefined ? "external_job_failed" : String(operationBody.error.code),
    message: redactSecrets(
      typeof operationBody.error?.message === "string"
        ? operationBody.error.message
        : "The API reports the operation failed.",
      Object.values(secrets),
    ),
    retryable: false,
  };
}

export function pending(checkAfterSeconds: number, progress?: Progress): CheckOutcome {
  return { pending: { checkAfterSeconds, ...(progress ? { progress } : {}) } };
}

export function percent(value: unknown): Progress | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0
    ? { current: Math.min(100, value), total: 100 }
    : undefined;
}

export function isAip151(body: unknown): body is Aip151Operation {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { name?: unknown }).name === "string" &&
    typeof (body as { done?: unknown }).done === "boolean"
  );
}
