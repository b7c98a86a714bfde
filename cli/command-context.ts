import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Command } from "commander";

/** What a command module needs from the program: its streams, a connected client, and tool calls. */
export interface CommandContext {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Opens a client for one command and closes it whatever happens. */
  withClient<T>(command: Command, run: (client: Client) => Promise<T>): Promise<T>;
  /** Calls a tool; a tool error becomes a one-line CLI error (exit 3). */
  call(client: Client, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * A signal of its own for one call, aborted with `parent`: the SDK leaves a listener on the signal
 * of every request, so a command that makes hundreds of calls must not hand them one signal.
 */
export async function withOwnSignal<T>(
  parent: AbortSignal | undefined,
  call: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (parent === undefined) return call(undefined);
  const controller = new AbortController();
  const abort = (): void => controller.abort(parent.reason);
  if (parent.aborted) abort();
  else parent.addEventListener("abort", abort, { once: true });
  try {
    return await call(controller.signal);
  } finally {
    parent.removeEventListener("abort", abort);
  }
}
