import { describe, expect, it } from "vitest";
import { ClientOnFirstUse, clientOf } from "../../lambdas/shared/adapters/client-on-first-use.js";
import { type FunctionTracer, traceClients } from "../../lambdas/shared/adapters/powertools-tracing.js";

interface FakeClient {
  readonly id: number;
}

function counting(): { made: () => number; source: ClientOnFirstUse<FakeClient> } {
  let made = 0;
  return {
    made: () => made,
    source: new ClientOnFirstUse(async () => {
      made += 1;
      return { id: made };
    }),
  };
}

function recordingTracer(): { traced: unknown[]; tracer: FunctionTracer } {
  const traced: unknown[] = [];
  return {
    traced,
    tracer: {
      isTracingEnabled: () => true,
      captureAWSv3Client: (client) => {
        traced.push(client);
        return client;
      },
      traceInvocation: (run) => run(),
    },
  };
}

describe("a client made on first use", () => {
  it("is made by the first call only, once, however many calls race for it", async () => {
    const { made, source } = counting();
    expect(made()).toBe(0);
    const clients = await Promise.all([source.client(), source.client(), clientOf(source)]);
    expect(clients.map((client) => client.id)).toEqual([1, 1, 1]);
    expect(await source.client()).toBe(clients[0]);
    expect(made()).toBe(1);
  });

  it("is made again after a failed attempt", async () => {
    let attempts = 0;
    const source = new ClientOnFirstUse<FakeClient>(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("the SDK could not be loaded");
      return { id: attempts };
    });
    await expect(source.client()).rejects.toThrow("the SDK could not be loaded");
    expect((await source.client()).id).toBe(2);
  });

  it("is traced when made, and only then; a client given as it is is traced at once", async () => {
    const { source } = counting();
    const given: FakeClient = { id: 99 };
    const { traced, tracer } = recordingTracer();
    traceClients(tracer, { given, lazy: source });
    expect(traced).toEqual([given]);
    const made = await source.client();
    expect(traced).toEqual([given, made]);
    // A hook added after the client is made runs at once.
    const late: FakeClient[] = [];
    source.whenMade((client) => late.push(client));
    expect(late).toEqual([made]);
    expect(await clientOf(given)).toBe(given);
  });
});
