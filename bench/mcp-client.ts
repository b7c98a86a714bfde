import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { connectClient } from "../cli/mcp-client.js";
import { isTerminal, type JobView } from "../lambdas/shared/domain/job.js";

/** `count` clients, connected one after another (so their handshakes do not compete for the cores). */
export async function connectClients(url: string, count: number): Promise<Client[]> {
  const clients: Client[] = [];
  for (let index = 0; index < count; index++) clients.push(await connectClient(url));
  return clients;
}

export async function closeClients(clients: readonly Client[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
}

export function isDone(job: JobView): boolean {
  return isTerminal(job.status);
}
