import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { callForJob, connectClient } from "../support/mcp-stack.js";
import { alive, descendants, killProcessTree } from "../support/process-tree.js";

let npm: ChildProcess | undefined;
let started: number[] = [];

afterAll(() => {
  // Only if the test failed half-way: end exactly the processes this test started.
  killProcessTree(npm?.pid, started);
});

describe("npm start", () => {
  it("prints the MCP URL within 30 s, serves jobs, and SIGTERM leaves no process behind", async () => {
    const begin = Date.now();
    npm = spawn("npm", ["start"], { env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within 30 s; output:\n${output}`)), 30_000);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        const match = /MCP endpoint: (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(output);
        if (match?.[1] && output.includes("Press Ctrl-C to stop.")) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      npm?.stdout?.on("data", onData);
      npm?.stderr?.on("data", onData);
      npm?.once("exit", (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
    });
    expect(Date.now() - begin).toBeLessThan(30_000);
    expect(output).toContain("npx @modelcontextprotocol/inspector --cli");
    expect(output).toContain(
      `  npm run jobs -- --url ${url} start slow_api --arg query=hello --arg delaySeconds=5 --wait\n`,
    );

    started = descendants(npm.pid as number);
    expect(started.length).toBeGreaterThan(0);

    const client = await connectClient(url);
    const job = await callForJob(client, "start_slow_api", {
      query: "npm start",
      delaySeconds: 1,
      waitSeconds: 15,
    });
    expect(job.status).toBe("completed");
    // The example integrations are served on a fresh clone, against the fake API npm start runs.
    expect(output).toMatch(/Example integrations .* call the fake API at http:\/\/127\.0\.0\.1:\d+\./);
    const summary = await callForJob(client, "start_summarize_text", { text: "a b c", waitSeconds: 15 });
    expect(summary).toMatchObject({ status: "completed", result: { summary: "a b c", words: 3 } });
    await client.close();

    // SIGUSR2 prints the job metrics as one line: the two jobs above, started and completed.
    const pid = Number(/kill -USR2 (\d+) prints a summary line/.exec(output)?.[1]);
    expect(started).toContain(pid);
    process.kill(pid, "SIGUSR2");
    const statsBy = Date.now() + 10_000;
    while (!output.includes("[stats] jobs: ") && Date.now() < statsBy)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(output).toMatch(
      /\[stats\] jobs: 2 started, 2 completed, 0 failed, 0 cancelled, 0 retries \| queued p50 /,
    );

    const exited = new Promise<void>((resolve) => npm?.once("exit", () => resolve()));
    npm.kill("SIGTERM");
    await exited;
    const deadline = Date.now() + 15_000;
    while (started.some(alive) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    expect(started.filter(alive)).toEqual([]);
  });

  it("a malformed integrations file stops it with one message naming the integration and the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "npm-start-integrations-"));
    const file = join(dir, "integrations.json");
    writeFileSync(
      file,
      JSON.stringify({
        integrations: [{ name: "broken", description: "x", input: { type: "object" }, request: {} }],
      }),
    );
    try {
      const child = spawn("npm", ["start"], {
        env: { ...process.env, PORT: "0", INTEGRATIONS_FILE: file },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code).toBe(1);
      expect(output).toContain(
        `Integrations file ${file}: integration "broken", field request.url: Invalid input: expected string, received undefined.`,
      );
      expect(output).not.toMatch(/\n\s+at /);
      expect(output).not.toContain("MCP endpoint:");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a bad AWS_CALL_POLICY stops it with a message naming the variable and its values", async () => {
    const child = spawn("npm", ["start"], {
      env: { ...process.env, PORT: "0", AWS_CALL_POLICY: "patient" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(output).toMatch(/AWS_CALL_POLICY: must be "local" .* or "deployed"/);
    expect(output).not.toMatch(/\n\s+at /);
    expect(output).not.toContain("MCP endpoint:");
  });

  it("says which port is taken, and exits, when PORT is in use", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const child = spawn("npm", ["start"], {
        env: { ...process.env, PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      expect(code).not.toBe(0);
      expect(output).toContain(`Port ${port} is in use`);
      expect(output).not.toContain("MCP endpoint:");
    } finally {
      blocker.close();
    }
  });
});
