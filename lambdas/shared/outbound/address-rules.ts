import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { OutboundConnectionError, OutboundRefusedError } from "./errors.js";

/** Where an outbound call may go: the URL rules, every resolved address judged, the address pinned. */

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

/** Resolves the URL's host once and checks every address; answers the one to connect to. */
export async function resolveChecked(url: URL, policy: OutboundPolicy): Promise<LookupAddress> {
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
export function pinnedLookup(checked: LookupAddress): LookupFunction {
  return (_hostname, options, callback) => {
    // Node's happy-eyeballs connect asks for every address (`all: true`); a plain connect asks for one.
    if (options.all) {
      (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, [checked]);
    } else {
      callback(null, checked.address, checked.family);
    }
  };
}
