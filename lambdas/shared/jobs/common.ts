import * as z from "zod";
import type { RunContext } from "./job-type.js";

export const query = z
  .string()
  .min(1)
  .max(10_000)
  .describe("What to ask the external service (1 to 10 000 characters)");

export function delaySeconds(defaultSeconds: number): z.ZodDefault<z.ZodNumber> {
  return z
    .number()
    .int()
    .min(0)
    .max(600)
    .default(defaultSeconds)
    .describe(`How long the simulated external call takes, in seconds (0 to 600, default ${defaultSeconds})`);
}

/**
 * Stands in for an external call of `seconds`: waits, reporting progress about once a second, and
 * stops at once when the run's signal aborts.
 */
export async function simulateCall(
  seconds: number,
  context: RunContext,
  describe: (elapsedSeconds: number) => string,
): Promise<void> {
  const ticks = Math.ceil(seconds);
  for (let tick = 1; tick <= ticks; tick++) {
    await sleep(Math.min(1, seconds - (tick - 1)) * 1000, context.signal);
    await context.progress({ current: tick, total: seconds, message: describe(tick) });
  }
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
