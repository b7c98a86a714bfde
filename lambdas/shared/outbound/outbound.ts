import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import {
  OutboundConnectionError,
  OutboundError,
  OutboundRefusedError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
} from "./errors.js";

export {
  OutboundConnectionError,
  OutboundError,
  OutboundRefusedError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
};

/** Resolves a host name to every address it has (the shape of `dns.lookup` with `all: true`). */
export type ResolveAll = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface OutboundPolicy {
  /** Local development only: allows `http` to 127.0.0.1, localhost and [::1], and loopback addresses. */
  readonly allowLoopback: boolean;
  /** A response body past this many bytes is cut off with `OutboundResponseTooLargeError`. */
  readonly maxResponseBytes: number;
  /** The whole exchange (resolve, connect, send, read the body) must end within this. */
  readonly timeoutMs: number;
  /** Name resolution; tests inject one that maps a name to a private address. Default: `dns.lookup`. */
  readonly lookup?: ResolveAll;
}

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

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * The rules a URL must pass before any name is resolved: https only (http only to a loopback
 * name when the policy allows loopback), and no credentials in the URL.
 */
export function checkOutboundUrl(url: string, policy: OutboundPolicy): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OutboundRefusedError("The outbound URL is not a valid absolute URL.");
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new OutboundRefusedError(
      `Outbound URLs may not carry credentials (${parsed.origin}); send them in a header.`,
    );
  }
  if (parsed.protocol === "https:") return parsed;
  if (parsed.protocol === "http:") {
    if (policy.allowLoopback && LOOPBACK_HOSTS.has(parsed.hostname)) return parsed;
    throw new OutboundRefusedError(
      policy.allowLoopback
        ? `Outbound URL ${parsed.origin} uses http; http is allowed to 127.0.0.1, localhost and [::1] only.`
        : `Outbound URL ${parsed.origin} uses http; only https is allowed.`,
    );
  }
  throw new OutboundRefusedError(`Outbound URL scheme ${parsed.protocol} is not allowed; use https.`);
}

/**
 * Why an address may not be called, or undefined when it may. Only global unicast passes;
 * loopback passes too when the policy allows it. IPv4-mapped IPv6 is judged as the IPv4 it holds.
 */
export function refusedAddressReason(
  address: string,
  policy: Pick<OutboundPolicy, "allowLoopback">,
): string | undefined {
  if (!ipaddr.isValid(address)) return "is not an IP address";
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range === "unicast") return undefined;
  if (range === "loopback" && policy.allowLoopback) return undefined;
  return `is in a ${range} range`;
}

const defaultResolveAll: ResolveAll = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    );
  });

async function resolveChecked(url: URL, policy: OutboundPolicy): Promise<LookupAddress> {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: readonly LookupAddress[];
  if (ipaddr.isValid(host)) {
    addresses = [{ address: host, family: ipaddr.parse(host).kind() === "ipv6" ? 6 : 4 }];
  } else {
    try {
      addresses = await (policy.lookup ?? defaultResolveAll)(host);
    } catch (error) {
      throw new OutboundConnectionError(`The host ${host} could not be resolved.`, { cause: error });
    }
  }
  if (addresses.length === 0) throw new OutboundConnectionError(`The host ${host} has no address.`);
  // Every address is judged, not just the first: a name with one private address is refused whole.
  for (const { address } of addresses) {
    const reason = refusedAddressReason(address, policy);
    if (reason) {
      throw new OutboundRefusedError(
        `Outbound host ${host} resolves to ${address}, which ${reason}; only public addresses may be called.`,
      );
    }
  }
  return addresses[0] as LookupAddress;
}

/** A lookup that always answers the address already checked, so the connection never resolves again. */
function pinnedLookup(checked: LookupAddress): LookupFunction {
  return (_hostname, options, callback) => {
    // Node's happy-eyeballs connect asks for every address (`all: true`); a plain connect asks for one.
    if (options.all) {
      (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, [checked]);
    } else {
      callback(null, checked.address, checked.family);
    }
  };
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
