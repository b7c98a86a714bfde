import type * as z from "zod";
import { ExternalApiError } from "../../domain/errors.js";
import type {
  CheckOutcome,
  JobState,
  RunContext,
  SubmitCheckJobType,
  SubmitOutcome,
} from "../../jobs/job-type.js";
import { type OutboundPolicy, type OutboundResponse, sendOutbound } from "../../outbound/outbound.js";
import type { Integration } from "../file-schema.js";
import { parseBody, responseError, retryAfterSeconds, transportError } from "../http-outcome.js";
import type { IntegrationRuntime, SecretValues } from "../integration-job-type.js";
import { redactSecrets, valueAtPath } from "../templates.js";
import { aipFailed, aipUrl, declaredCancel, isAip151, type LroState, pending, percent } from "./lro.js";
import { type OpenApiOperation, POLLING_HEADERS } from "./operation.js";
import { authorize, type OutgoingRequest, submitRequest } from "./request.js";

/** Slack the worker adds to one request's timeout, so the request's own timeout is what fires. */
const RUN_MARGIN_MS = 5_000;
/** `Retry-After` is honoured within these bounds (one delayed check message at most). */
const MIN_CHECK_SECONDS = 1;
const MAX_CHECK_SECONDS = 900;

/**
 * The job type of one imported OpenAPI operation. Always submit/check: the first response decides.
 * An AIP-151 operation (`name` + boolean `done`) is polled at `<base>/<name>`; a response with a
 * polling header (Operation-Location, then Azure-AsyncOperation, then Location) on a 201/202, or on
 * an operation the document declares long-running, is polled at that URL; anything else is the
 * result at once. Every URL the API hands back must stay on the base URL's origin or one the entry
 * allows, and passes the outbound rules.
 */
export function openApiJobType(
  integration: Integration,
  input: z.ZodObject,
  operation: OpenApiOperation,
  runtime: IntegrationRuntime,
): SubmitCheckJobType {
  const what = integration.name;
  const timeoutSeconds = integration.request.timeoutSeconds;
  const base = new URL(`${operation.baseUrl}/`);
  const trusted = new Set([base.origin, ...operation.allowedOrigins]);
  const policy = (): OutboundPolicy => ({
    allowLoopback: runtime.allowLoopback,
    maxResponseBytes: integration.maxResponseBytes,
    timeoutMs: timeoutSeconds * 1000,
    ...(runtime.lookup ? { lookup: runtime.lookup } : {}),
  });

  const send = async (
    label: string,
    request: OutgoingRequest,
    context: RunContext,
    secrets: SecretValues,
  ): Promise<OutboundResponse> => {
    let response: OutboundResponse;
    try {
      response = await sendOutbound(
        { ...authorize(request, secrets, operation, trusted), signal: context.signal },
        policy(),
      );
    } catch (error) {
      throw redactError(transportError(error, label), secrets);
    }
    if (response.status < 200 || response.status >= 300) {
      throw responseError(response, Object.values(secrets), label);
    }
    return response;
  };

  const get = (label: string, url: string, context: RunContext, secrets: SecretValues) =>
    send(label, { method: "GET", url, headers: {} }, context, secrets);

  /** The final body as the job's result, with any echoed secret removed. */
  const result = (body: unknown, secrets: SecretValues): unknown => {
    const picked = integration.result ? valueAtPath(body, integration.result.path) : body;
    if (picked === undefined) {
      throw new ExternalApiError(
        `The response has nothing at result.path "${integration.result?.path}".`,
        false,
        "result_not_found",
      );
    }
    const json = JSON.stringify(picked);
    const clean = redactSecrets(json, Object.values(secrets));
    return clean === json ? picked : JSON.parse(clean);
  };

  /** A URL from a response, resolved against the request; refused off the trusted origins. */
  const returnedUrl = (value: string, relativeTo: string, header: string): string => {
    let url: URL;
    try {
      url = new URL(value, relativeTo);
    } catch {
      throw new ExternalApiError(
        `${what}: the ${header} the API returned is not a URL.`,
        false,
        "invalid_response",
      );
    }
    if (!trusted.has(url.origin)) {
      throw new ExternalApiError(
        `${what}: the API returned a ${header} on another origin (${url.origin}); refused. List it in allowedOrigins to allow it.`,
        false,
        "outbound_refused",
      );
    }
    url.hash = "";
    return url.href;
  };

  const checkAfter = (response: OutboundResponse): number => {
    const after = retryAfterSeconds(response.headers["retry-after"]);
    const seconds = after ?? operation.everySeconds;
    return Math.min(MAX_CHECK_SECONDS, Math.max(MIN_CHECK_SECONDS, seconds));
  };

  const longRunning = operation.longRunning !== undefined;
  return {
    name: integration.name,
    title: integration.title ?? integration.name,
    description: integration.description,
    input,
    timeoutMs: timeoutSeconds * 1000 + RUN_MARGIN_MS,
    maxAttempts: integration.maxAttempts,
    pollAfterSeconds: longRunning
      ? operation.everySeconds
      : Math.min(30, Math.max(2, Math.ceil(timeoutSeconds / 6))),
    maxDurationSeconds: operation.maxDurationSeconds,

    async submit(values, context): Promise<SubmitOutcome> {
      const secrets = await runtime.secrets();
      let request: OutgoingRequest;
      try {
        request = submitRequest(operation, values as Record<string, unknown>);
      } catch (error) {
        throw transportError(error, what);
      }
      await context.progress({ current: 0, message: "Request sent" });
      const response = await send(what, request, context, secrets);
      const body = parseBody(response);
      if (isAip151(body)) {
        if (body.done) {
          if (body.error !== undefined) {
            const failed = aipFailed(body, secrets);
            throw new ExternalApiError(failed.message, false, failed.code);
          }
          return { result: result(body.response ?? null, secrets) };
        }
        const pollUrl = aipUrl(base, body.name, what);
        const cancelUrl = declaredCancel(operation, base, "POST", `${pollUrl}:cancel`);
        const state: LroState = {
          kind: "aip",
          name: body.name,
          requestUrl: request.url,
          ...(cancelUrl ? { cancelUrl } : {}),
        };
        return { state: { ...state }, checkAfterSeconds: checkAfter(response) };
      }
      const header = POLLING_HEADERS.find((name) => response.headers[name]);
      if (header === undefined || !(response.status === 202 || (response.status === 201 && longRunning))) {
        return { result: result(body, secrets) };
      }
      const pollUrl = returnedUrl(response.headers[header] as string, request.url, header);
      const locationUrl = response.headers.location
        ? returnedUrl(response.headers.location, request.url, "location")
        : undefined;
      const cancelUrl =
        header === "location" ? undefined : declaredCancel(operation, base, "DELETE", pollUrl);
      const state: LroState =
        header === "location"
          ? { kind: "location", pollUrl, requestUrl: request.url }
          : {
              kind: "status",
              pollUrl,
              requestUrl: request.url,
              ...(locationUrl ? { locationUrl } : {}),
              ...(cancelUrl ? { cancelUrl } : {}),
            };
      return { state: { ...state }, checkAfterSeconds: checkAfter(response) };
    },

    async check(stored, context): Promise<CheckOutcome> {
      const state = stored as unknown as LroState;
      const secrets = await runtime.secrets();
      const label = `${what} status check`;
      if (state.kind === "aip") {
        const response = await get(label, aipUrl(base, state.name, what), context, secrets);
        const body = parseBody(response);
        if (!isAip151(body)) {
          throw new ExternalApiError(
            `${label}: the API answered something that is not an operation.`,
            false,
            "invalid_response",
          );
        }
        if (body.done) {
          if (body.error !== undefined) return { failed: aipFailed(body, secrets) };
          return { done: result(body.response ?? null, secrets) };
        }
        return pending(checkAfter(response), percent(body.metadata?.progressPercent));
      }
      if (state.kind === "location") {
        const response = await get(label, state.pollUrl, context, secrets);
        if (response.status === 202) return pending(checkAfter(response));
        const via =
          operation.longRunning?.finalStateVia ??
          (operation.method === "PUT" || operation.method === "PATCH" ? "original-uri" : "location");
        if (via === "original-uri") {
          const final = await get(`${what} result`, state.requestUrl, context, secrets);
          return { done: result(parseBody(final), secrets) };
        }
        return { done: result(parseBody(response), secrets) };
      }
      const response = await get(label, state.pollUrl, context, secrets);
      const body = parseBody(response);
      const status = String(valueAtPath(body, "status") ?? "").toLowerCase();
      if (status === "succeeded") {
        const via =
          operation.longRunning?.finalStateVia ??
          (operation.method === "PUT" || operation.method === "PATCH"
            ? "original-uri"
            : operation.method === "POST" && state.locationUrl
              ? "location"
              : "status");
        if (via === "location" && state.locationUrl) {
          const final = await get(`${what} result`, state.locationUrl, context, secrets);
          return { done: result(parseBody(final), secrets) };
        }
        if (via === "original-uri") {
          const final = await get(`${what} result`, state.requestUrl, context, secrets);
          return { done: result(parseBody(final), secrets) };
        }
        const inner = valueAtPath(body, "result");
        return { done: result(inner === undefined ? body : inner, secrets) };
      }
      if (status === "failed" || status === "canceled" || status === "cancelled") {
        const code = valueAtPath(body, "error.code");
        const message = valueAtPath(body, "error.message");
        return {
          failed: {
            code: code === undefined ? "external_job_failed" : String(code),
            message: redactSecrets(
              typeof message === "string" ? message : `The API reports the operation ${status}.`,
              Object.values(secrets),
            ),
            retryable: false,
          },
        };
      }
      return pending(checkAfter(response), percent(valueAtPath(body, "percentComplete")));
    },

    async cancel(stored: JobState, context: RunContext): Promise<void> {
      const state = stored as unknown as LroState;
      if (state.kind === "location" || state.cancelUrl === undefined) return;
      const secrets = await runtime.secrets();
      await send(
        `${what} cancel`,
        { method: state.kind === "aip" ? "POST" : "DELETE", url: state.cancelUrl, headers: {} },
        context,
        secrets,
      );
    },
  };
}

function redactError(error: unknown, secrets: SecretValues): unknown {
  if (!(error instanceof ExternalApiError)) return error;
  const message = redactSecrets(error.message, Object.values(secrets));
  return message === error.message ? error : new ExternalApiError(message, error.retryable, error.code);
}
