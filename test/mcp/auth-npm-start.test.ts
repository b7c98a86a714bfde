import { type ChildProcess, execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { connectClient } from "../support/mcp-stack.js";
import { killProcessTree } from "../support/process-tree.js";

let npm: ChildProcess | undefined;

afterAll(() => {
  // Only if the test failed half-way: end the npm start this test began and everything below it.
  if (npm && npm.exitCode === null && npm.signalCode === null) killProcessTree(npm.pid);
});

describe("npm start with AUTH_MODE=api-key and no API_KEYS", () => {
  // Up to 45 s to get ready on a busy machine, then the printed jobs command runs a 5 s job.
  it("generates a development key, prints it with an Inspector command, and accepts only it", {
    timeout: 120_000,
  }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", AUTH_MODE: "api-key" };
    delete env.API_KEYS;
    delete env.API_KEYS_SECRET_ARN;
    npm = spawn("npm", ["start"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const ready = await new Promise<{ url: string; key: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready within 45 s; output:\n${output}`)), 45_000);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        const url = /MCP endpoint: (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(output)?.[1];
        const key = /API key \(development\): (\S+)/.exec(output)?.[1];
        if (url && key && output.includes("Press Ctrl-C to stop.")) {
          clearTimeout(timer);
          resolve({ url, key });
        }
      };
      npm?.stdout?.on("data", onData);
      npm?.stderr?.on("data", onData);
      npm?.once("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
    });

    expect(ready.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(output).toContain(`--header "Authorization: Bearer ${ready.key}"`);
    expect(output).toMatch(/\(auth: api-key; AWS calls: local budgets/);

    // The printed jobs command runs as pasted: the key travels in MCP_API_KEY.
    const jobsLine = /^ {2}(MCP_API_KEY=\S+ npm run jobs -- .+)$/m.exec(output)?.[1];
    expect(jobsLine).toBe(
      `MCP_API_KEY='${ready.key}' npm run jobs -- --url ${ready.url} start slow_api --arg query=hello --arg delaySeconds=5 --wait`,
    );
    const pasted = await promisify(execFile)("sh", ["-c", jobsLine ?? "false"], { timeout: 60_000 });
    expect(pasted.stdout).toContain('"answer": "Slow result for: hello"');

    const refused = await fetch(ready.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(refused.status).toBe(401);
    const client = await connectClient(ready.url, { authorization: `Bearer ${ready.key}` });
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await client.close();

    const exited = new Promise((resolve) => npm?.once("exit", resolve));
    npm.kill("SIGTERM");
    await exited;
  });
});
