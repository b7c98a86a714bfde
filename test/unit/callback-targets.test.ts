import { describe, expect, it } from "vitest";
import { CallbackRefusedError } from "../../lambdas/shared/domain/notifications.js";
import { CallbackTargets } from "../../lambdas/shared/usecases/callback-targets.js";

const ids = (): (() => string) => {
  let n = 0;
  return () => `msg_${++n}`;
};

function refusal(targets: CallbackTargets, url: string | undefined): CallbackRefusedError {
  try {
    targets.targetsFor(url);
  } catch (error) {
    expect(error).toBeInstanceOf(CallbackRefusedError);
    return error as CallbackRefusedError;
  }
  throw new Error(`${url} was accepted`);
}

describe("CallbackTargets", () => {
  const strict = { allowedOrigins: ["https://hooks.example.com"], outbound: { allowLoopback: false } };

  it("no callbackUrl and no default: no target; with a default: the default alone", () => {
    expect(new CallbackTargets(strict, ids()).targetsFor(undefined)).toEqual([]);
    const withDefault = new CallbackTargets(
      { ...strict, defaultCallbackUrl: "https://ops.example.com/all" },
      ids(),
    );
    expect(withDefault.targetsFor(undefined)).toEqual([
      { webhookId: "msg_1", url: "https://ops.example.com/all", status: "pending", attempts: 0 },
    ]);
  });

  it("the caller's URL first, then the default, each with its own webhook-id; the same URL once", () => {
    const targets = new CallbackTargets(
      { ...strict, defaultCallbackUrl: "https://hooks.example.com/all" },
      ids(),
    );
    expect(targets.targetsFor("https://hooks.example.com/mine")).toEqual([
      { webhookId: "msg_1", url: "https://hooks.example.com/mine", status: "pending", attempts: 0 },
      { webhookId: "msg_2", url: "https://hooks.example.com/all", status: "pending", attempts: 0 },
    ]);
    expect(targets.targetsFor("https://hooks.example.com/all").map((target) => target.url)).toEqual([
      "https://hooks.example.com/all",
    ]);
  });

  it("webhook ids are msg_ and a fresh UUID by default", () => {
    const targets = new CallbackTargets(strict);
    const [one] = targets.targetsFor("https://hooks.example.com/a");
    const [two] = targets.targetsFor("https://hooks.example.com/a");
    expect(one?.webhookId).toMatch(/^msg_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(two?.webhookId).not.toBe(one?.webhookId);
  });

  it("the allowlist compares origins, so a default port or a trailing path in it does not matter", () => {
    const targets = new CallbackTargets(
      { allowedOrigins: ["https://hooks.example.com:443/ignored"], outbound: { allowLoopback: false } },
      ids(),
    );
    expect(targets.targetsFor("https://hooks.example.com/x")[0]?.url).toBe("https://hooks.example.com/x");
    expect(refusal(targets, "https://hooks.example.com:8443/x").message).toBe(
      "callbackUrl was refused: its origin https://hooks.example.com:8443 is not one the operator allows (CALLBACK_ALLOWED_ORIGINS).",
    );
  });

  it("refuses with the URL rule that failed, as a callback refusal", () => {
    const targets = new CallbackTargets(strict, ids());
    expect(refusal(targets, "http://hooks.example.com/x").message).toBe(
      "callbackUrl was refused: Outbound URL http://hooks.example.com uses http; only https is allowed.",
    );
    expect(refusal(targets, "not a url").message).toBe(
      "callbackUrl was refused: The outbound URL is not a valid absolute URL.",
    );
  });

  it("allows http to loopback only when the outbound rules allow loopback", () => {
    const local = new CallbackTargets(
      { allowedOrigins: ["http://127.0.0.1:8080"], outbound: { allowLoopback: true } },
      ids(),
    );
    expect(local.targetsFor("http://127.0.0.1:8080/hook")[0]?.url).toBe("http://127.0.0.1:8080/hook");
    const deployed = new CallbackTargets(
      { allowedOrigins: ["http://127.0.0.1:8080"], outbound: { allowLoopback: false } },
      ids(),
    );
    expect(refusal(deployed, "http://127.0.0.1:8080/hook").message).toMatch(/only https is allowed/);
  });

  it("with no allowed origins, every caller URL is refused; the default still applies", () => {
    const targets = new CallbackTargets(
      {
        allowedOrigins: [],
        defaultCallbackUrl: "https://ops.example.com/all",
        outbound: { allowLoopback: false },
      },
      ids(),
    );
    expect(refusal(targets, "https://hooks.example.com/x").message).toBe(
      "callbackUrl is not enabled on this server (the operator allows no callback origins).",
    );
    expect(targets.targetsFor(undefined)).toHaveLength(1);
  });
});
