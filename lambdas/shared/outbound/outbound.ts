import type { LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import {
  checkOutboundUrl,
  type OutboundPolicy,
  pinnedLookup,
  type ResolveAll,
  refusedAddressReason,
  resolveChecked,
} from "./address-rules.js";
import {
  OutboundConnectionError,
  OutboundError,
  OutboundRefusedError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
} from "./errors.js";

export {
  checkOutboundUrl,
  OutboundConnectionError,
  OutboundError,
  type OutboundPolicy,
  OutboundRefusedError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
  type ResolveAll,
  refusedAddressReason,
};

export interface OutboundRequest {
  readonly url: string;
  /** Default GET. */
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Aborts the exchange; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface OutboundResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The URL that was called (redirects are never followed, so it is always the request's). */
  readonly url: URL;
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

/**
 * Makes one HTTP exchange under the outbound rules: the URL is checked, the host resolved once and
 * every address checked, and the connection goes to the checked address. Redirects are not followed
 * (a 3xx is returned as is); the body is capped; the whole exchange is bounded by the timeout.
 */
export async function sendOutbound(
  request: OutboundRequest,
  policy: OutboundPolicy,
): Promise<OutboundResponse> {
  const url = checkOutboundUrl(request.url, policy);
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new OutboundTimeoutError(policy.timeoutMs)),
    policy.timeoutMs,
  );
  const onCallerAbort = (): void => controller.abort(request.signal?.reason);
  if (request.signal?.aborted) onCallerAbort();
  else request.signal?.addEventListener("abort", onCallerAbort, { once: true });
  const signal = controller.signal;

  try {
    const checked = await raceAbort(resolveChecked(url, policy), signal);
    return await raceAbort(exchange(url, checked, request, policy, signal), signal);
  } finally {
    clearTimeout(timer);
    request.signal?.removeEventListener("abort", onCallerAbort);
  }
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function exchange(
  url: URL,
  checked: LookupAddress,
  request: OutboundRequest,
  policy: OutboundPolicy,
  signal: AbortSignal,
): Promise<OutboundResponse> {
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<OutboundResponse>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    let outgoing: ReturnType<typeof send>;
    try {
      outgoing = send(
        url,
        {
          method: request.method ?? "GET",
          headers: { ...request.headers },
          lookup: pinnedLookup(checked),
          // A fresh connection per request: a pooled socket might have been opened under other rules.
          agent: false,
          signal,
        },
        (response: IncomingMessage) =>
          readBody(response, url, policy, signal).then((value) => {
            settled = true;
            resolve(value);
          }, fail),
      );
    } catch (error) {
      // Node refuses header values with CR/LF or other invalid characters before sending anything.
      fail(
        new OutboundRefusedError("The outbound request has an invalid header name or value.", {
          cause: error,
        }),
      );
      return;
    }
    outgoing.on("error", (error) => {
      if (signal.aborted) fail(signal.reason);
      else if (error instanceof OutboundError) fail(error);
      else
        fail(
          new OutboundConnectionError(`The connection to ${url.origin} failed (${errorCode(error)}).`, {
            cause: error,
          }),
        );
    });
    outgoing.end(request.body);
  });
}

function readBody(
  response: IncomingMessage,
  url: URL,
  policy: OutboundPolicy,
  signal: AbortSignal,
): Promise<OutboundResponse> {
  return new Promise<OutboundResponse>((resolve, reject) => {
    const declared = Number(response.headers["content-length"]);
    if (Number.isFinite(declared) && declared > policy.maxResponseBytes) {
      reject(new OutboundResponseTooLargeError(policy.maxResponseBytes));
      response.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    response.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > policy.maxResponseBytes) {
        // Reject first: destroying emits `aborted`, which must not win the race.
        reject(new OutboundResponseTooLargeError(policy.maxResponseBytes));
        response.destroy();
        return;
      }
      chunks.push(chunk);
    });
    response.on("end", () =>
      resolve({
        status: response.statusCode ?? 0,
        headers: flattenHeaders(response.headers),
        body: Buffer.concat(chunks),
        url,
      }),
    );
    response.on("error", (error) =>
      reject(
        signal.aborted
          ? signal.reason
          : new OutboundConnectionError(`The response from ${url.origin} broke off (${errorCode(error)}).`, {
              cause: error,
            }),
      ),
    );
    response.on("aborted", () =>
      reject(
        signal.aborted
          ? signal.reason
          : new OutboundConnectionError(`The response from ${url.origin} broke off.`),
      ),
    );
  });
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : "network error";
}
