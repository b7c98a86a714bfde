// The Vercel AI SDK's MCP Events client and webhook receiver, driven over stdin/stdout: one JSON
// command per input line, one JSON answer per output line. Run as a child process (it may need a
// newer Node than the test runner). Started with the MCP URL and `name=key` pairs as arguments;
// `name=key=initialize` makes that caller skip `server/discover` and open with `initialize`.
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { createMCPClient, experimental_createMCPEventWebhook } from "@ai-sdk/mcp";

const [mcpUrl, ...callers] = process.argv.slice(2);

/** A private store per caller, in memory: the receiver reads the pending secret from it. */
function memoryStore() {
  const byKey = new Map();
  return {
    async get(key) {
      return byKey.get(key);
    },
    async getById(id) {
      return [...byKey.values()].find((subscription) => subscription.id === id);
    },
    async set(subscription) {
      byKey.set(subscription.key, structuredClone(subscription));
    },
    async update(key, patch) {
      const current = byKey.get(key);
      if (current) byKey.set(key, { ...current, ...patch });
    },
    async delete(key) {
      byKey.delete(key);
    },
  };
}

const received = [];
const sessions = new Map();
const handlers = new Map();

for (const pair of callers) {
  const [name, key, opening] = pair.split("=");
  const store = memoryStore();
  const client = await createMCPClient({
    transport: { type: "http", url: mcpUrl, headers: { authorization: `Bearer ${key}` } },
    experimental_events: { store },
    protocolVersionDiscovery: opening !== "initialize",
  });
  handlers.set(
    name,
    experimental_createMCPEventWebhook({
      store,
      onEvent: async ({ subscription, event }) => {
        received.push({ caller: name, subscriptionId: subscription.id, event });
      },
      onError: () => undefined,
    }),
  );
  sessions.set(name, { client, store });
}

/** One loopback server; the first path segment names the caller whose receiver answers. */
const server = createServer((incoming, outgoing) => {
  const chunks = [];
  incoming.on("data", (chunk) => chunks.push(chunk));
  incoming.on("end", async () => {
    const url = new URL(incoming.url ?? "/", "http://127.0.0.1");
    const handler = handlers.get(url.pathname.split("/")[1] ?? "");
    if (!handler) {
      outgoing.writeHead(404).end();
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (typeof value === "string") headers.set(name, value);
    }
    const response = await handler(
      new Request(`http://127.0.0.1${incoming.url}`, {
        method: incoming.method,
        headers,
        body: Buffer.concat(chunks),
      }),
    );
    outgoing.writeHead(response.status, Object.fromEntries(response.headers));
    outgoing.end(Buffer.from(await response.arrayBuffer()));
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();

function answer(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function run(command) {
  const session = sessions.get(command.caller);
  switch (command.op) {
    case "list":
      return session.client.experimental_events.list();
    case "subscribe":
      return session.client.experimental_events.subscribe({
        name: "job.finished",
        arguments: command.arguments ?? {},
        delivery: {
          mode: "webhook",
          url: `http://127.0.0.1:${port}/${command.caller}/hook`,
          allowInsecureLocalhost: true,
        },
      });
    case "unsubscribe":
      await session.client.experimental_events.unsubscribe({ id: command.subscriptionId });
      return {};
    case "received":
      return { received };
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

answer({ ready: true, port });
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "") continue;
  const command = JSON.parse(line);
  try {
    answer({ id: command.id, ok: true, result: await run(command) });
  } catch (error) {
    answer({ id: command.id, ok: false, error: String(error?.message ?? error) });
  }
}
for (const { client } of sessions.values()) await client.close();
server.close();
