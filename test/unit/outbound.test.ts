import type { LookupAddress } from "node:dns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkOutboundUrl,
  OutboundConnectionError,
  type OutboundPolicy,
  OutboundRefusedError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
  type ResolveAll,
  refusedAddressReason,
  sendOutbound,
} from "../../lambdas/shared/outbound/outbound.js";
import { type FixtureHandler, type HttpFixture, startHttpFixture } from "../support/http-fixture.js";

const strict: OutboundPolicy = { allowLoopback: false, maxResponseBytes: 1024, timeoutMs: 5_000 };
const local: OutboundPolicy = { ...strict, allowLoopback: true };

/** A resolver that maps each name to fixed addresses and counts its calls. */
function resolver(table: Record<string, string[]>): ResolveAll & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<LookupAddress[]> => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return Object.assign(resolve, { calls });
}

describe("checkOutboundUrl", () => {
  it("accepts https and refuses http, other schemes and credentials when loopback is not allowed", () => {
    expect(checkOutboundUrl("https://api.example.com/v1?x=1", strict).host).toBe("api.example.com");
    expect(() => checkOutboundUrl("http://api.example.com/", strict)).toThrow(/only https is allowed/);
    expect(() => checkOutboundUrl("http://127.0.0.1:8080/", strict)).toThrow(OutboundRefusedError);
    expect(() => checkOutboundUrl("ftp://api.example.com/", strict)).toThrow(/scheme ftp: is not allowed/);
    expect(() => checkOutboundUrl("file:///etc/passwd", strict)).toThrow(OutboundRefusedError);
    expect(() => checkOutboundUrl("https://user:pw@api.example.com/", strict)).toThrow(/credentials/);
    expect(() => checkOutboundUrl("not a url", strict)).toThrow(/not a valid absolute URL/);
  });

  it("allows http to loopback names only when the policy allows loopback", () => {
    for (const url of ["http://127.0.0.1:9/", "http://localhost:9/x", "http://[::1]:9/"]) {
      expect(checkOutboundUrl(url, local).protocol).toBe("http:");
    }
    expect(() => checkOutboundUrl("http://api.example.com/", local)).toThrow(
      /127\.0\.0\.1, localhost and \[::1\] only/,
    );
    expect(() => checkOutboundUrl("http://10.0.0.1/", local)).toThrow(OutboundRefusedError);
  });
});

describe("refusedAddressReason", () => {
  it.each([
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "linkLocal"],
    ["100.64.0.1", "carrierGradeNat"],
    ["127.0.0.1", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "broadcast"],
    ["::1", "loopback"],
    ["fc00::1", "uniqueLocal"],
    ["fd12:3456::1", "uniqueLocal"],
    ["fe80::1", "linkLocal"],
    ["ff02::1", "multicast"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:169.254.169.254", "linkLocal"],
  ])("refuses %s (%s)", (address, range) => {
    expect(refusedAddressReason(address, strict)).toBe(`is in a ${range} range`);
  });

  it("passes global unicast, and loopback only when allowed", () => {
    expect(refusedAddressReason("93.184.215.14", strict)).toBeUndefined();
    expect(refusedAddressReason("2606:2800:21f:cb07:6820:80da:af6b:8b2c", strict)).toBeUndefined();
    expect(refusedAddressReason("127.0.0.1", local)).toBeUndefined();
    expect(refusedAddressReason("::1", local)).toBeUndefined();
    expect(refusedAddressReason("10.0.0.1", local)).toBe("is in a private range");
    expect(refusedAddressReason("169.254.169.254", local)).toBe("is in a linkLocal range");
  });
});

describe("sendOutbound", () => {
  let fixture: HttpFixture;
  beforeAll(async () => {
    fixture = await startHttpFixture();
  });
  afterAll(() => fixture.close());

  it.each([
    ["10.0.0.1", "private"],
    ["169.254.169.254", "linkLocal"],
    ["127.0.0.1", "loopback"],
  ])("refuses a host that resolves to %s before connecting", async (address, range) => {
    const lookup = resolver({ "api.test": [address] });
    const before = fixture.requests.length;
    const error = await sendOutbound({ url: "https://api.test/v1" }, { ...strict, lookup }).catch((e) => e);
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect(error.message).toBe(
      `Outbound host api.test resolves to ${address}, which is in a ${range} range; only public addresses may be called.`,
    );
    expect(lookup.calls).toEqual(["api.test"]);
    expect(fixture.requests.length).toBe(before);
  });

  it("refuses a name when any of its addresses is refused", async () => {
    const lookup = resolver({ "api.test": ["93.184.215.14", "10.0.0.1"] });
    await expect(sendOutbound({ url: "https://api.test/" }, { ...strict, lookup })).rejects.toThrow(
      /10\.0\.0\.1/,
    );
  });

  it("refuses IP literals in refused ranges without resolving", async () => {
    const lookup = resolver({});
    for (const url of [
      "https://10.0.0.1/",
      "https://169.254.169.254/latest/meta-data/",
      "https://[::1]/",
      "https://[::ffff:a9fe:a9fe]/",
    ]) {
      await expect(sendOutbound({ url }, { ...strict, lookup })).rejects.toBeInstanceOf(OutboundRefusedError);
    }
    expect(lookup.calls).toEqual([]);
  });

  it("resolves once and connects to the checked address", async () => {
    const lookup = resolver({ localhost: ["127.0.0.1"] });
    fixture.handle((_request, response) => response.writeHead(200, { "x-reply": "yes" }).end("hello"));
    const response = await sendOutbound(
      {
        url: `http://localhost:${fixture.port}/path?q=1`,
        method: "POST",
        body: "ping",
        headers: { "x-a": "b" },
      },
      { ...local, lookup },
    );
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe("hello");
    expect(response.headers["x-reply"]).toBe("yes");
    expect(lookup.calls).toEqual(["localhost"]);
    const seen = fixture.requests.at(-1);
    expect(seen).toMatchObject({ method: "POST", target: "/path?q=1", body: "ping" });
    expect(seen?.headers["x-a"]).toBe("b");
  });

  it("connects to the address it checked, not to a later answer for the same name (DNS rebinding)", async () => {
    // Two servers on one port: the checked address, and a stand-in for the internal service a
    // rebinding name points at on its second answer. The system resolver maps localhost to the
    // second, so a connection that resolves the name again lands there instead of the checked one.
    const { checked, rebound } = await serversOnOnePort();
    try {
      let answers = 0;
      const rebinding: ResolveAll = async () => {
        answers += 1;
        return [{ address: answers === 1 ? "127.0.0.2" : "127.0.0.1", family: 4 }];
      };
      const response = await sendOutbound(
        { url: `http://localhost:${checked.port}/who` },
        { ...local, lookup: rebinding },
      );
      expect(response.body.toString()).toBe("checked");
      expect(answers).toBe(1);
      expect(checked.requests.map((request) => request.target)).toEqual(["/who"]);
      expect(rebound.requests).toEqual([]);
    } finally {
      await Promise.all([checked.close(), rebound.close()]);
    }
  });

  it("uses the system resolver when none is injected", async () => {
    fixture.handle((_request, response) => response.writeHead(200).end("system"));
    const response = await sendOutbound({ url: `http://localhost:${fixture.port}/` }, local);
    expect(response.body.toString()).toBe("system");
  });

  it("refuses a name with no address, and a resolver answer that is no IP address", async () => {
    const empty = await sendOutbound(
      { url: "https://empty.test/" },
      { ...strict, lookup: async () => [] },
    ).catch((error) => error);
    expect(empty).toBeInstanceOf(OutboundConnectionError);
    expect(empty.message).toBe("The host empty.test has no address.");
    const odd = await sendOutbound(
      { url: "https://odd.test/" },
      { ...strict, lookup: async () => [{ address: "not-an-ip", family: 4 }] },
    ).catch((error) => error);
    expect(odd).toBeInstanceOf(OutboundRefusedError);
    expect(odd.message).toContain("resolves to not-an-ip, which is not an IP address");
    const unknown = await sendOutbound(
      { url: "https://unknown.test/" },
      { ...strict, lookup: resolver({}) },
    ).catch((error) => error);
    expect(unknown).toBeInstanceOf(OutboundConnectionError);
    expect(unknown.message).toBe("The host unknown.test could not be resolved.");
    expect(unknown.cause).toMatchObject({ code: "ENOTFOUND" });
  });

  it("connects to an IPv6 loopback literal as IPv6", async () => {
    const v6 = await startHttpFixture((_request, response) => response.writeHead(200).end("six"), {
      host: "::1",
    }).catch(() => undefined);
    if (v6 === undefined) return; // no IPv6 loopback on this machine
    try {
      const response = await sendOutbound({ url: `http://[::1]:${v6.port}/` }, local);
      expect(response.body.toString()).toBe("six");
    } finally {
      await v6.close();
    }
  });

  it("refuses credentials given as a password alone or a user alone", () => {
    expect(() => checkOutboundUrl("https://:secret@api.example.com/", strict)).toThrow(/credentials/);
    expect(() => checkOutboundUrl("https://user@api.example.com/", strict)).toThrow(/credentials/);
  });

  it("speaks TLS to an https URL: a plain HTTP server there is a connection error", async () => {
    const error = await sendOutbound({ url: `https://127.0.0.1:${fixture.port}/` }, local).catch((e) => e);
    expect(error).toBeInstanceOf(OutboundConnectionError);
    expect(error.message).toMatch(
      new RegExp(`^The connection to https://127\\.0\\.0\\.1:${fixture.port} failed \\(`),
    );
  });

  it("names the error code of a refused connection", async () => {
    const closed = await startHttpFixture();
    const { port } = closed;
    await closed.close();
    const error = await sendOutbound({ url: `http://127.0.0.1:${port}/` }, local).catch((e) => e);
    expect(error).toBeInstanceOf(OutboundConnectionError);
    expect(error.message).toBe(`The connection to http://127.0.0.1:${port} failed (ECONNREFUSED).`);
  });

  it("sends GET unless told otherwise, and refuses a header value with a line break before sending", async () => {
    const before = fixture.requests.length;
    fixture.handle((_request, response) => response.writeHead(204).end());
    await sendOutbound({ url: `${fixture.origin}/get` }, local);
    expect(fixture.requests.at(-1)?.method).toBe("GET");
    const error = await sendOutbound(
      { url: `${fixture.origin}/bad`, headers: { "x-bad": "a\r\nx-injected: 1" } },
      local,
    ).catch((e) => e);
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect(error.message).toBe("The outbound request has an invalid header name or value.");
    expect(error.cause).toBeInstanceOf(Error);
    expect(fixture.requests.length).toBe(before + 1);
  });

  it("a body of exactly the cap passes, declared or streamed; one byte more does not", async () => {
    fixture.handle((_request, response) =>
      response.writeHead(200, { "content-length": "1024" }).end("x".repeat(1024)),
    );
    expect((await sendOutbound({ url: fixture.origin }, local)).body.length).toBe(1024);
    fixture.handle((_request, response) => {
      response.writeHead(200);
      response.write("y".repeat(1000));
      response.end("y".repeat(24));
    });
    expect((await sendOutbound({ url: fixture.origin }, local)).body.length).toBe(1024);
    fixture.handle((_request, response) => {
      response.writeHead(200);
      response.write("y".repeat(1000));
      response.end("y".repeat(25));
    });
    await expect(sendOutbound({ url: fixture.origin }, local)).rejects.toBeInstanceOf(
      OutboundResponseTooLargeError,
    );
  });

  it("refuses a declared length over the cap at once, without waiting for the body", async () => {
    fixture.handle((_request, response) => {
      response.writeHead(200, { "content-length": "5000" });
      response.write("z".repeat(10)); // and never more: only the declared length can end this early
    });
    const error = await sendOutbound({ url: fixture.origin }, { ...local, timeoutMs: 3_000 }).catch((e) => e);
    expect(error).toBeInstanceOf(OutboundResponseTooLargeError);
  });

  it("a response that breaks off mid-body is a connection error", async () => {
    fixture.handle((_request, response) => {
      response.writeHead(200, { "content-length": "100" });
      response.write("partial", () => response.socket?.destroy());
    });
    const error = await sendOutbound({ url: fixture.origin }, local).catch((e) => e);
    expect(error).toBeInstanceOf(OutboundConnectionError);
    expect(error.message).toMatch(
      new RegExp(`^The response from ${fixture.origin.replaceAll(".", "\\.")} broke off`),
    );
  });

  it("a caller's abort, before or during the exchange, rejects with the caller's reason", async () => {
    const already = new AbortController();
    already.abort(new Error("caller gave up early"));
    const before = fixture.requests.length;
    await expect(sendOutbound({ url: fixture.origin, signal: already.signal }, local)).rejects.toThrow(
      "caller gave up early",
    );
    expect(fixture.requests.length).toBe(before);

    let answered = (): void => {};
    const arrived = new Promise<void>((resolve) => {
      answered = resolve;
    });
    fixture.handle(() => answered()); // never answers
    const during = new AbortController();
    const pending = sendOutbound(
      { url: fixture.origin, signal: during.signal },
      { ...local, timeoutMs: 10_000 },
    );
    await arrived;
    during.abort(new Error("caller gave up"));
    await expect(pending).rejects.toThrow("caller gave up");
  });

  it("returns a redirect as it is, without following it", async () => {
    fixture.handle((_request, response) => response.writeHead(302, { location: "/elsewhere" }).end());
    const before = fixture.requests.length;
    const response = await sendOutbound({ url: `${fixture.origin}/start` }, local);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe("/elsewhere");
    expect(fixture.requests.length).toBe(before + 1);
  });

  it("cuts off a body over the cap, declared or streamed", async () => {
    fixture.handle((_request, response) =>
      response.writeHead(200, { "content-length": "5000" }).end("x".repeat(5000)),
    );
    await expect(sendOutbound({ url: fixture.origin }, local)).rejects.toBeInstanceOf(
      OutboundResponseTooLargeError,
    );
    fixture.handle((_request, response) => {
      response.writeHead(200);
      for (let i = 0; i < 10; i++) response.write("y".repeat(200));
      response.end();
    });
    await expect(sendOutbound({ url: fixture.origin }, local)).rejects.toThrow("larger than 1024 bytes");
  });

  it("times out a server that never answers", async () => {
    fixture.handle(() => undefined);
    await expect(sendOutbound({ url: fixture.origin }, { ...local, timeoutMs: 300 })).rejects.toBeInstanceOf(
      OutboundTimeoutError,
    );
  });

  it("stops when the caller's signal aborts, with the signal's reason", async () => {
    fixture.handle(() => undefined);
    const controller = new AbortController();
    const reason = new Error("cancelled by caller");
    setTimeout(() => controller.abort(reason), 100);
    await expect(sendOutbound({ url: fixture.origin, signal: controller.signal }, local)).rejects.toBe(
      reason,
    );
  });

  it("reports a refused connection and an unknown host as connection errors", async () => {
    const closed = await startHttpFixture();
    await closed.close();
    await expect(sendOutbound({ url: closed.origin }, local)).rejects.toBeInstanceOf(OutboundConnectionError);
    await expect(
      sendOutbound({ url: "https://nowhere.test/" }, { ...strict, lookup: resolver({}) }),
    ).rejects.toThrow("The host nowhere.test could not be resolved.");
  });

  it("refuses a header value holding CR/LF before sending", async () => {
    const before = fixture.requests.length;
    await expect(
      sendOutbound({ url: fixture.origin, headers: { "x-a": "b\r\nx-injected: 1" } }, local),
    ).rejects.toBeInstanceOf(OutboundRefusedError);
    expect(fixture.requests.length).toBe(before);
  });
});

/** One fixture on 127.0.0.2 and one on 127.0.0.1, on the same port, each answering its own name. */
async function serversOnOnePort(): Promise<{ checked: HttpFixture; rebound: HttpFixture }> {
  const reply =
    (name: string): FixtureHandler =>
    (_request, response) =>
      response.writeHead(200).end(name);
  for (let attempt = 0; ; attempt++) {
    const checked = await startHttpFixture(reply("checked"), { host: "127.0.0.2" });
    try {
      const rebound = await startHttpFixture(reply("rebound"), { host: "127.0.0.1", port: checked.port });
      return { checked, rebound };
    } catch (error) {
      await checked.close();
      if (attempt >= 10) throw error;
    }
  }
}
