import type * as z from "zod";
import { ExternalApiError } from "../../domain/errors.js";
import type { Progress } from "../../domain/job.js";
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
import { redactSecrets, TemplateError, valueAtPath } from "../templates.js";
import { type OpenApiOperation, POLLING_HEADERS } from "./operation.js";

/** Slack the worker adds to one request's timeout, so the request's own timeout is what fires. */
const RUN_MARGIN_MS = 5_000;
/** `Retry-After` is honoured within these bounds (one delayed check message at most). */
const MIN_CHECK_SECONDS = 1;
const MAX_CHECK_SECONDS = 900;

/** What a long-running operation keeps in its row between checks: URLs without any secret. */
type LroState =
  | { readonly kind: "aip"; readonly name: string; readonly requestUrl: string; readonly cancelUrl?: string }
  | {
      readonly kind: "status";
      readonly pollUrl: string;
      readonly requestUrl: string;
      readonly locationUrl?: string;
      readonly cancelUrl?: string;
    }
  | { readonly kind: "location"; readonly pollUrl: string; readonly requestUrl: string };

interface Aip151Operation {
  readonly name: string;
  readonly done: boolean;
  readonly error?: { readonly code?: unknown; readonly message?: unknown };
  readonly response?: unknown;
  readonly metadata?: { readonly progressPercent?: unknown };
}

interface OutgoingRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

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

  /** The credentials the document's security schemes ask for, on the base origin and the allowed ones. */
  const authorize = (request: OutgoingRequest, secrets: SecretValues): OutgoingRequest => {
    const url = new URL(request.url);
    if (!trusted.has(url.origin)) return request;
    const headers = { ...request.headers };
    for (const auth of operation.auth) {
      const secret = secrets[auth.secret];
      if (secret === undefined) {
        throw new ExternalApiError(
          `The secret ${auth.secret} is not configured on this server.`,
          false,
          "secret_missing",
        );
      }
      const value =
        auth.format === "bearer"
          ? `Bearer ${secret}`
          : auth.format === "basic"
            ? `Basic ${Buffer.from(secret).toString("base64")}`
            : secret;
      if (auth.in === "query") url.searchParams.set(auth.name, value);
      else headers[auth.name.toLowerCase()] = value;
    }
    return { ...request, url: url.href, headers };
  };

  const send = async (
    label: string,
    request: OutgoingRequest,
    context: RunContext,
    secrets: SecretValues,
  ): Promise<OutboundResponse> => {
    let response: OutboundResponse;
    try {
      response = await sendOutbound({ ...authorize(request, secrets), signal: context.signal }, policy());
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

  const declaredCancel = (method: "DELETE" | "POST", url: string): string | undefined => {
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
  };

  const checkAfter = (response: OutboundResponse): number => {
    const after = retryAfterSeconds(response.headers["retry-after"]);
    const seconds = after ?? operation.everySeconds;
    return Math.min(MAX_CHECK_SECONDS, Math.max(MIN_CHECK_SECONDS, seconds));
  };

  const submitRequest = (values: Record<string, unknown>): OutgoingRequest => {
    let path = operation.path;
    for (const name of operation.pathParameters) {
      const text = asText(values[name]);
      if (text === undefined) throw new TemplateError(`The path parameter ${name} has no value.`);
      if (text === "." || text === "..") {
        throw new TemplateError("A path value of only dots would change the URL's path; it was not sent.");
      }
      path = path.split(`{${name}}`).join(encodeURIComponent(text));
    }
    const url = new URL(`${operation.baseUrl}${path}`);
    for (const name of operation.queryParameters) {
      const text = asText(values[name]);
      if (text !== undefined) url.searchParams.append(name, text);
    }
    const headers: Record<string, string> = {};
    for (const name of operation.headerParameters) {
      const text = asText(values[name]);
      if (text === undefined) continue;
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
      if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(text)) {
        throw new TemplateError(
          `Header ${name}: the value holds a line break or control character; it was not sent.`,
        );
      }
      headers[name.toLowerCase()] = text;
    }
    const hasBody = operation.hasBody && values.body !== undefined;
    if (hasBody) headers["content-type"] = "application/json";
    return {
      method: operation.method,
      url: url.href,
      headers,
      ...(hasBody ? { body: JSON.stringify(values.body) } : {}),
    };
  };

  const aipUrl = (name: string): string => {
    const segments = name.split("/");
    if (segments.some((segment) => segment === "" || segment === "." || segment === "..")) {
      throw new ExternalApiError(
        `${what}: the operation name the API returned is not a resource name.`,
        false,
        "invalid_response",
      );
    }
    return new URL(segments.map(encodeURIComponent).join("/"), base).href;
  };

  const aipFailed = (operationBody: Aip151Operation, secrets: SecretValues) => ({
    code: operationBody.error?.code === undefined ? "external_job_failed" : String(operationBody.error.code),
    message: redactSecrets(
      typeof operationBody.error?.message === "string"
        ? operationBody.error.message
        : "The API reports the operation failed.",
      Object.values(secrets),
    ),
    retryable: false,
  });

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
        request = submitRequest(values as Record<string, unknown>);
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
        const pollUrl = aipUrl(body.name);
        const cancelUrl = declaredCancel("POST", `${pollUrl}:cancel`);
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
      const cancelUrl = header === "location" ? undefined : declaredCancel("DELETE", pollUrl);
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
        const response = await get(label, aipUrl(state.name), context, secrets);
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

function pending(checkAfterSeconds: number, progress?: Progress): CheckOutcome {
  return { pending: { checkAfterSeconds, ...(progress ? { progress } : {}) } };
}

function percent(value: unknown): Progress | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0
    ? { current: Math.min(100, value), total: 100 }
    : undefined;
}

function isAip151(body: unknown): body is Aip151Operation {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { name?: unknown }).name === "string" &&
    typeof (body as { done?: unknown }).done === "boolean"
  );
}

function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : String(value);
}

function redactError(error: unknown, secrets: SecretValues): unknown {
  if (!(error instanceof ExternalApiError)) return error;
  const message = redactSecrets(error.message, Object.values(secrets));
  return message === error.message ? error : new ExternalApiError(message, error.retryable, error.code);
}
