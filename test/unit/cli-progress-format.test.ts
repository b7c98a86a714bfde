import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { barDisplay, lineDisplay } from "../../cli/display.js";
import type { CliJob } from "../../cli/job.js";
import { formatBarLine, formatDuration, formatProgressLine } from "../../cli/progress-format.js";

const created = Date.parse("2026-11-30T10:00:00.000Z");
const job = (fields: Partial<CliJob>): CliJob => ({
  jobId: "32ce2e70-6ff5-463c-bc9e-a48ed7baa407",
  type: "slow_api",
  status: "running",
  attempt: 1,
  maxAttempts: 3,
  createdAt: new Date(created).toISOString(),
  updatedAt: new Date(created).toISOString(),
  expiresAt: new Date(created + 86_400_000).toISOString(),
  ...fields,
});

describe("jobs CLI: progress text", () => {
  it("formats durations compactly", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(9_400)).toBe("9s");
    expect(formatDuration(75_000)).toBe("1m15s");
    expect(formatDuration(3_725_000)).toBe("1h02m");
    expect(formatDuration(-5_000)).toBe("0s");
  });

  it("shows current/total with a percent, the message and the elapsed time", () => {
    const line = formatProgressLine(
      job({ progress: { current: 6, total: 15, message: "Waited 6 s" } }),
      created + 7_000,
    );
    expect(line).toBe("running 6/15 40% · Waited 6 s · elapsed 7s");
  });

  it("shows a bare count when the job gives no total, and nothing before any progress", () => {
    expect(formatProgressLine(job({ progress: { current: 3 } }), created + 1_000)).toBe(
      "running 3 · elapsed 1s",
    );
    expect(formatProgressLine(job({ status: "queued" }), created)).toBe("queued · elapsed 0s");
  });

  it("adds the ETA when the job gives estimatedCompletion, and drops it once completed", () => {
    const estimate = new Date(created + 120_000).toISOString();
    expect(
      formatProgressLine(
        job({ progress: { current: 40, total: 100 }, estimatedCompletion: estimate }),
        created + 30_000,
      ),
    ).toBe("running 40/100 40% · elapsed 30s, ETA 1m30s");
    expect(
      formatProgressLine(job({ status: "completed", estimatedCompletion: estimate }), created + 30_000),
    ).toBe("completed · elapsed 30s");
  });

  it("says why a job failed and when a retry is pending", () => {
    const failed = job({
      status: "failed",
      error: { code: "external_api_failed_dependency", message: "424 Failed Dependency", retryable: false },
    });
    expect(formatProgressLine(failed, created)).toBe(
      "failed · external_api_failed_dependency: 424 Failed Dependency · elapsed 0s",
    );
    const retrying = job({
      attempt: 2,
      lastError: { code: "external_api_unavailable", message: "503", retryable: true },
    });
    expect(formatProgressLine(retrying, created)).toBe(
      "running · retrying after external_api_unavailable (attempt 2) · elapsed 0s",
    );
  });

  it("puts the bar before the same text on the live line", () => {
    expect(formatBarLine(job({ progress: { current: 1, total: 4 } }), created, "[##------]")).toBe(
      "[##------] running 1/4 25% · elapsed 0s",
    );
  });
});

describe("jobs CLI: displays", () => {
  it("without a terminal writes one line per change and skips repeats", () => {
    const lines: string[] = [];
    const display = lineDisplay((line) => lines.push(line));
    display.update(job({ status: "queued" }));
    display.update(job({ status: "queued" }));
    display.update(job({ progress: { current: 1, total: 2 } }));
    display.update(job({ progress: { current: 1, total: 2 } }));
    display.update(job({ status: "completed", progress: { current: 2, total: 2 } }));
    display.stop();
    expect(lines.map((line) => line.split(" · ")[0])).toEqual([
      "queued",
      "running 1/2 50%",
      "completed 2/2 100%",
    ]);
  });

  it("on a terminal redraws one line in place with cli-progress and ends on a fresh line", () => {
    const stream = Object.assign(new PassThrough(), {
      isTTY: true,
      columns: 200,
    }) as unknown as NodeJS.WriteStream;
    let written = "";
    stream.on("data", (chunk: Buffer) => {
      written += chunk.toString();
    });
    const display = barDisplay(stream);
    display.update(job({ progress: { current: 1, total: 4, message: "Waited 1 s" } }));
    display.update(job({ status: "completed", progress: { current: 4, total: 4, message: "Waited 4 s" } }));
    display.stop();
    // cli-progress draws each frame from column 1 (ESC[1G) and clears the rest of the line (ESC[0K).
    const frames = written
      .split("\u001b[1G")
      .slice(1)
      .map((frame) => frame.split("\u001b[0K")[0]);
    expect(frames.at(-1)).toMatch(/^█{24} completed 4\/4 100% · Waited 4 s · elapsed \d+/);
    expect(written.endsWith("\n")).toBe(true);
  });
});
