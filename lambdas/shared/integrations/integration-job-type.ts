import type * as z from "zod";
import { ExternalApiError } from "../domain/errors.js";
import type { CheckOutcome, JobState, RunContext, RunJobType, SubmitCheckJobType } from "../jobs/job-type.js";
import { type OutboundPolicy, type OutboundResponse, sendOutbound } from "../outbound/outbound.js";
import type { Integration, Predicate } from "./file-schema.js";
import { parseBody, responseError, transportError } from "./http-outcome.js";
import {
  onlyPlaceholder,
  placeholders,
  type Resolve,
  redactSecrets,
  renderBody,
  renderHeaders,
  renderUrl,
  resolveResponseUrl,
  valueAtPath,
} from "./templates.js";

/** Secret values by name; only the worker has them (the MCP function builds tools without). */
export type SecretValues = Readonly<Record<string, string>>;

export interface IntegrationRuntime {
  /** Local runs only: lets the integration call http://127.0.0.1 and http://localhost. */
  readonly allowLoopback: boolean;
  /**
   * Read when a request is made (once per container: the loader memoizes), so the MCP side never
   * needs them. A rejection is an ExternalApiError: permanent for a missing secret, else retryable.
   */
  readonly secrets: () => Promise<SecretValues>;
  /** Name resolution for tests; default `dns.lookup`. */
  readonly lookup?: OutboundPolicy["lookup"];
}

/** Slack the worker adds to one request's timeout, so the request's own timeout is what fires. */
const RUN_MARGIN_MS = 5_000;

/** What a poll-mode job keeps in its row between checks: the submit's URL and the values its templates need. */
interface PollState extends JobState {
  readonly requestUrl: string;
  readonly values: Record<string, unknown>;
}

/**
 * The job type of one declared integration: a run in sync mode, submit/check (+ cancel) in poll
 * mode. Every request goes through the outbound rules; every failure becomes an ExternalApiError
 * whose text holds no secret.
 */
export function integrationJobType(
  integration: Integration,
  input: z.ZodObject,
  runtime: IntegrationRuntime,
): RunJobType | SubmitCheckJobType {
  const base = {
    name: integration.name,
    title: integration.title ?? integration.name,
    description: integration.description,
    input,
    timeoutMs: integration.request.timeoutSeconds * 1000 + RUN_MARGIN_MS,
    maxAttempts: integration.maxAttempts,
  };
  const policy = (): OutboundPolicy => ({
    allowLoopback: runtime.allowLoopback,
    maxResponseBytes: integration.maxResponseBytes,
    timeoutMs: integration.request.timeoutSeconds * 1000,
    ...(runtime.lookup ? { lookup: runtime.lookup } : {}),
  });

  const send = async (
    what: string,
    request: { method: string; url: string; headers: Record<string, string>; body?: string },
    context: RunContext,
    secretValues: SecretValues,
  ): Promise<OutboundResponse> => {
    const secrets = Object.values(secretValues);
    let response: OutboundResponse;
    try {
      response = await sendOutbound({ ...request, signal: context.signal }, policy());
    } catch (error) {
      throw transportError(error, what);
    }
    if (response.status < 200 || response.status >= 300) throw responseError(response, secrets, what);
    return response;
  };

  /** The final body as the job's result, with any echoed secret removed. */
  const result = (body: unknown, secretValues: SecretValues): unknown => {
    const picked = integration.result ? valueAtPath(body, integration.result.path) : body;
    if (picked === undefined) {
      throw new ExternalApiError(
        `The response has nothing at result.path "${integration.result?.path}".`,
        false,
        "result_not_found",
      );
    }
    const secrets = Object.values(secretValues);
    const json = JSON.stringify(picked);
    const clean = redactSecrets(json, secrets);
    return clean === json ? picked : JSON.parse(clean);
  };

  const submitRequest = (values: unknown, context: RunContext, secrets: SecretValues) => {
    const resolve = resolver({ input: values, jobId: context.jobId, secrets });
    const { request } = integration;
    const body = request.body === undefined ? undefined : renderBody(request.body, resolve);
    const headers = renderHeaders(request.headers ?? {}, resolve);
    if (body !== undefined && !Object.keys(headers).includes("content-type"))
      headers["content-type"] = "application/json";
    return {
      method: request.method,
      url: renderUrl(request.url, request.query, resolve),
      headers,
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    };
  };

  const what = `${integration.name}`;
  const { poll } = integration;
  if (!poll) {
    return {
      ...base,
      pollAfterSeconds: Math.min(30, Math.max(2, Math.ceil(integration.request.timeoutSeconds / 6))),
      async run(values, context) {
        const secrets = await runtime.secrets();
        let request: ReturnType<typeof submitRequest>;
        try {
          request = submitRequest(values, context, secrets);
        } catch (error) {
          throw transportError(error, what);
        }
        await context.progress({ current: 0, message: "Request sent" });
        const response = await send(what, request, context, secrets);
        return result(parseBody(response), secrets);
      },
    };
  }

  const followUp = (
    spec: { method: string; url: string; headers?: Record<string, string> | undefined },
    state: JobState,
    context: RunContext,
    secrets: SecretValues,
  ) => {
    const { requestUrl, values } = state as PollState;
    const resolve = resolver({ values, jobId: context.jobId, secrets });
    const whole = onlyPlaceholder(spec.url);
    const url = whole?.startsWith("response.")
      ? resolveResponseUrl(resolve(whole), requestUrl, whole as string)
      : renderUrl(spec.url, undefined, resolve);
    return {
      method: spec.method,
      url,
      headers: renderHeaders(spec.headers ?? integration.request.headers ?? {}, resolve),
    };
  };

  // Only the values the poll and cancel templates name are kept in the row (never a secret).
  const kept = [poll.url, ...Object.values(poll.headers ?? integration.request.headers ?? {})]
    .concat(
      poll.cancel
        ? [poll.cancel.url, ...Object.values(poll.cancel.headers ?? integration.request.headers ?? {})]
        : [],
    )
    .flatMap(placeholders)
    .filter((reference) => reference.startsWith("response.") || reference.startsWith("input."));

  return {
    ...base,
    pollAfterSeconds: poll.everySeconds,
    maxDurationSeconds: poll.maxDurationSeconds,
    async submit(values, context) {
      const secrets = await runtime.secrets();
      let request: ReturnType<typeof submitRequest>;
      try {
        request = submitRequest(values, context, secrets);
      } catch (error) {
        throw transportError(error, what);
      }
      const response = await send(what, request, context, secrets);
      const body = parseBody(response);
      const snapshot: Record<string, unknown> = {};
      for (const reference of new Set(kept)) {
        const value = reference.startsWith("input.")
          ? valueAtPath(values, reference.slice("input.".length))
          : responseValue(reference, response, body);
        if (value !== undefined) snapshot[reference] = value;
      }
      const state: PollState = { requestUrl: request.url, values: snapshot };
      return { state };
    },
    async check(state, context): Promise<CheckOutcome> {
      const secrets = await runtime.secrets();
      let request: ReturnType<typeof followUp>;
      try {
        request = followUp(poll, state, context, secrets);
      } catch (error) {
        throw transportError(error, `${what} status check`);
      }
      const response = await send(`${what} status check`, request, context, secrets);
      const body = parseBody(response);
      if (holds(poll.failedWhen, body)) {
        const status = JSON.stringify(valueAtPath(body, (poll.failedWhen as Predicate).path));
        return {
          failed: {
            code: "external_job_failed",
            message: redactSecrets(
              `The API reports the job failed (${(poll.failedWhen as Predicate).path} = ${status}).`,
              Object.values(secrets),
            ),
            retryable: false,
          },
        };
      }
      if (holds(poll.doneWhen, body)) return { done: result(body, secrets) };
      const progress = poll.progress ? valueAtPath(body, poll.progress.path) : undefined;
      return {
        pending: {
          checkAfterSeconds: poll.everySeconds,
          ...(typeof progress === "number" && Number.isFinite(progress) && progress >= 0
            ? {
                progress: {
                  current: progress,
                  ...(poll.progress?.total ? { total: poll.progress.total } : {}),
                },
              }
            : {}),
        },
      };
    },
    ...(poll.cancel
      ? {
          async cancel(state: JobState, context: RunContext): Promise<void> {
            const spec = poll.cancel as NonNullable<typeof poll.cancel>;
            const secrets = await runtime.secrets();
            let request: ReturnType<typeof followUp>;
            try {
              request = followUp(spec, state, context, secrets);
            } catch (error) {
              throw transportError(error, `${what} cancel`);
            }
            await send(`${what} cancel`, request, context, secrets);
          },
        }
      : {}),
  };
}

function responseValue(reference: string, response: OutboundResponse, body: unknown): unknown {
  if (reference.startsWith("response.headers.")) {
    return response.headers[reference.slice("response.headers.".length).toLowerCase()];
  }
  if (reference.startsWith("response.body."))
    return valueAtPath(body, reference.slice("response.body.".length));
  return undefined;
}

function holds(predicate: Predicate | undefined, body: unknown): boolean {
  if (!predicate) return false;
  const value = valueAtPath(body, predicate.path);
  if ("equals" in predicate) return sameJson(value, predicate.equals);
  return predicate.in.some((candidate) => sameJson(value, candidate));
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Placeholder values: `input.*` from the job's input (or the kept snapshot), `job.id`, and
 * `secrets.*` read at the moment of use so they are never stored with the rest.
 */
function resolver(scope: {
  input?: unknown;
  values?: Record<string, unknown>;
  jobId: string;
  secrets: SecretValues;
}): Resolve {
  return (reference) => {
    if (reference === "job.id") return scope.jobId;
    if (reference.startsWith("secrets.")) {
      const name = reference.slice("secrets.".length);
      const value = scope.secrets[name];
      if (value === undefined) {
        throw new ExternalApiError(
          `The secret ${name} is not configured on this server.`,
          false,
          "secret_missing",
        );
      }
      return value;
    }
    if (scope.values) return scope.values[reference];
    if (reference.startsWith("input.")) return valueAtPath(scope.input, reference.slice("input.".length));
    return undefined;
  };
}
