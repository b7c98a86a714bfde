import { randomUUID } from "node:crypto";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { callForJob, connectClient } from "../cli/mcp-client.js";
import { localAwsClients } from "../local/aws-clients.js";
import { closeClients, connectClients } from "./mcp-client.js";
import type { BenchProfile } from "./profile.js";
import type { BenchStack } from "./stack.js";
import { startLayers } from "./start-layers.js";
import { ratio, rounded, type Summary, since, summarize } from "./stats.js";

export interface LatencySeries {
  readonly label: string;
  readonly latencyMs: Summary;
}

export interface ConcurrentSeries extends LatencySeries {
  readonly clients: number;
  readonly calls: number;
  readonly wallMs: number;
  readonly perSecond: number;
}

export interface StartLatencyResult {
  /** Whether the worker ran beside the starts, taking and running the jobs they queued. */
  readonly workerOn: boolean;
  /** The start_slow_api input: with the worker on, short jobs keep it working throughout. */
  readonly startArgs: StartArgs;
  readonly sequential: {
    readonly start: LatencySeries;
    readonly floor: LatencySeries;
    readonly ping: LatencySeries;
    readonly getJob: LatencySeries;
  };
  /** Where a start's time goes: the same start timed layer by layer, from the floor out (see start-layers.ts). */
  readonly layers: readonly LayerSeries[];
  readonly concurrent: { readonly start: ConcurrentSeries; readonly floor: ConcurrentSeries };
  /** Ours divided by the floor, measured in the same run. */
  readonly ratios: {
    readonly sequentialP50: number;
    readonly sequentialP99: number;
    readonly concurrentP50: number;
    readonly concurrentP99: number;
  };
  /** Ours minus the floor at p50, in ms: what the MCP layer, validation and HTTP add. */
  readonly overheadP50Ms: number;
}

export interface LayerSeries extends LatencySeries {
  /** What this layer adds to the one inside it. */
  readonly adds: string;
}

const WARMUP_CALLS = 20;

/** A type, not an interface: it is passed on as the tool call's arguments record. */
export type StartArgs = { readonly query: string; readonly delaySeconds: number };

export interface StartLatencyOptions {
  /** The stack's worker runs (as `npm start` runs it): its pollers and jobs share the process. */
  readonly workerOn: boolean;
  readonly startArgs: StartArgs;
  readonly concurrentClients: number;
}

/** Worker off: the jobs stay queued and nothing else competes for the two cores. */
export const WORKER_OFF: Omit<StartLatencyOptions, "concurrentClients"> = {
  workerOn: false,
  startArgs: { query: "start latency", delaySeconds: 15 },
};

/** Worker on: 1 s jobs, so the worker claims, runs and completes jobs all through the measurement. */
export const WORKER_ON: Omit<StartLatencyOptions, "concurrentClients"> = {
  workerOn: true,
  startArgs: { query: "start latency", delaySeconds: 1 },
};

/**
 * start_slow_api round trips through the whole MCP path, against the floor: the same PutItem and
 * SendMessage with the SDK straight to the same emulators, in the same process, interleaved with
 * ours. With the worker off the jobs stay queued (on AWS the worker runs in other sandboxes); with
 * it on, the local stack's pollers take them as `npm start` does, competing for the same cores.
 */
export async function measureStartLatency(
  stack: BenchStack,
  profile: BenchProfile,
  options: StartLatencyOptions,
): Promise<StartLatencyResult> {
  const startArgs = options.startArgs;
  const floor = floorOperation(stack, startArgs);
  const client = await connectClient(stack.mcpUrl);
  try {
    const start = (mcp: Client) => async (): Promise<void> => {
      await callForJob(mcp, "start_slow_api", startArgs);
    };
    const someJob = await callForJob(client, "start_slow_api", startArgs);
    const layers = await startLayers(stack, startArgs);
    const operations = {
      start: start(client),
      floor,
      useCase: layers.useCase,
      inProcess: layers.inProcess,
      overHttp: layers.overHttp,
      ping: async (): Promise<void> => {
        await client.ping();
      },
      getJob: async (): Promise<void> => {
        await callForJob(client, "get_job", { jobId: someJob.jobId });
      },
    };
    for (const operation of Object.values(operations)) await timeSequential(operation, WARMUP_CALLS);

    // Interleaved blocks: a noisy neighbour slows every series alike instead of one of them.
    const samples = {
      start: [] as number[],
      floor: [] as number[],
      useCase: [] as number[],
      inProcess: [] as number[],
      overHttp: [] as number[],
      ping: [] as number[],
      getJob: [] as number[],
    };
    for (let done = 0; done < profile.sequentialCalls; done += profile.sequentialBlock) {
      const size = Math.min(profile.sequentialBlock, profile.sequentialCalls - done);
      samples.start.push(...(await timeSequential(operations.start, size)));
      samples.floor.push(...(await timeSequential(operations.floor, size)));
      samples.useCase.push(...(await timeSequential(operations.useCase, size)));
      samples.inProcess.push(...(await timeSequential(operations.inProcess, size)));
      samples.overHttp.push(...(await timeSequential(operations.overHttp, size)));
      samples.ping.push(...(await timeSequential(operations.ping, size)));
      samples.getJob.push(...(await timeSequential(operations.getJob, size)));
    }

    const clients = await connectClients(stack.mcpUrl, options.concurrentClients);
    let concurrentStart: ConcurrentSeries;
    try {
      concurrentStart = await timeConcurrent(
        "start_slow_api, concurrent clients",
        clients.map((mcp) => start(mcp)),
        profile.callsPerConcurrentClient,
      );
    } finally {
      await closeClients(clients);
    }
    const concurrentFloor = await timeConcurrent(
      "floor: PutItem + SendMessage, concurrent",
      Array.from({ length: options.concurrentClients }, () => floor),
      profile.callsPerConcurrentClient,
    );

    const sequential = {
      start: series("start_slow_api, one client", samples.start),
      floor: series("floor: PutItem + SendMessage (SDK, same emulators)", samples.floor),
      ping: series("MCP ping (front door, no AWS call)", samples.ping),
      getJob: series("get_job (one consistent GetItem)", samples.getJob),
    };
    const layer = (label: string, adds: string, samplesOf: readonly number[]): LayerSeries => ({
      ...series(label, samplesOf),
      adds,
    });
    return {
      workerOn: options.workerOn,
      startArgs,
      sequential,
      layers: [
        layer("floor: PutItem + SendMessage", "the two AWS requests alone", samples.floor),
        layer(
          "use case: JobService.start",
          "the job's id, canonical input and hash; the message carries the job",
          samples.useCase,
        ),
        layer(
          "MCP app in-process (web Request, no HTTP)",
          "front door, SDK server, argument and output checks, the job view",
          samples.inProcess,
        ),
        layer(
          "over HTTP with fetch (local Function URL)",
          "loopback HTTP, the Lambda event and back, the fetch client",
          samples.overHttp,
        ),
        layer("through the MCP SDK client", "the client's request and answer handling", samples.start),
      ],
      concurrent: { start: concurrentStart, floor: concurrentFloor },
      ratios: {
        sequentialP50: ratio(sequential.start.latencyMs.p50, sequential.floor.latencyMs.p50),
        sequentialP99: ratio(sequential.start.latencyMs.p99, sequential.floor.latencyMs.p99),
        concurrentP50: ratio(concurrentStart.latencyMs.p50, concurrentFloor.latencyMs.p50),
        concurrentP99: ratio(concurrentStart.latencyMs.p99, concurrentFloor.latencyMs.p99),
      },
      overheadP50Ms: Number((sequential.start.latencyMs.p50 - sequential.floor.latencyMs.p50).toFixed(1)),
    };
  } finally {
    await client.close();
  }
}

/** The least a start can cost: the row and the message, written with the SDK and nothing around them. */
function floorOperation(stack: BenchStack, startArgs: StartArgs): () => Promise<void> {
  const { dynamo, sqs } = localAwsClients(stack.endpoints);
  const { tableName, queueUrl } = stack.resources;
  return async () => {
    const id = randomUUID();
    const now = new Date().toISOString();
    await dynamo.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          id: { S: id },
          type: { S: "slow_api" },
          owner: { S: "floor" },
          activeOwner: { S: "floor" },
          status: { S: "queued" },
          inputJson: { S: JSON.stringify(startArgs) },
          inputHash: { S: "0".repeat(64) },
          attempt: { N: "0" },
          maxAttempts: { N: "3" },
          createdAt: { S: now },
          updatedAt: { S: now },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
        },
        ConditionExpression: "attribute_not_exists(id)",
      }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ jobId: id, type: "slow_api" }),
        MessageAttributes: { jobType: { DataType: "String", StringValue: "slow_api" } },
      }),
    );
  };
}

async function timeSequential(operation: () => Promise<void>, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    await operation();
    samples.push(since(started));
  }
  return samples;
}

/** Every lane calls its operation `callsPerLane` times, one after another; all lanes at once. */
async function timeConcurrent(
  label: string,
  lanes: ReadonlyArray<() => Promise<void>>,
  callsPerLane: number,
): Promise<ConcurrentSeries> {
  const started = performance.now();
  const perLane = await Promise.all(lanes.map((operation) => timeSequential(operation, callsPerLane)));
  const wallMs = since(started);
  const samples = perLane.flat();
  return {
    label,
    latencyMs: rounded(summarize(samples), 2),
    clients: lanes.length,
    calls: samples.length,
    wallMs: Math.round(wallMs),
    perSecond: Math.round((samples.length / wallMs) * 1000),
  };
}

function series(label: string, samples: readonly number[]): LatencySeries {
  return { label, latencyMs: rounded(summarize(samples), 2) };
}
