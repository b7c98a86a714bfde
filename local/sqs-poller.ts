import { AsyncLocalStorage } from "node:async_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { fakeLambdaContext } from "./lambda-context.js";
import { toRecord } from "./sqs-event.js";

// biome-ignore lint/suspicious/noConfusingVoidType: matches aws-lambda's SQSHandler, so real handlers fit as they are.
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface SqsPollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly handler: SqsBatchHandler;
  /** Messages per invocation, 1 to 10. Default: 10. */
  readonly batchSize?: number;
  /** Parallel receive→invoke loops, like the event source's maximum concurrency. Default: 1. */
  readonly concurrency?: number;
  /** Long-poll wait; stop() waits for the pending receive, so keep it short. Default: 1. */
  readonly waitTimeSeconds?: number;
  /** After this the invocation counts as failed, as a Lambda timeout would. Default: 120 000. */
  readonly functionTimeoutMs?: number;
  /** Default: "us-east-1". */
  readonly region?: string;
  /** Default: "worker". */
  readonly functionName?: string;
  /** Receive, invoke and delete failures. Default: console.error. */
  readonly onError?: (error: unknown) => void;
  /** Delivery faults for soak runs. Default: none. */
  readonly faults?: DeliveryFaults;
}

/** Faults of the Lambda event source, injected per invocation (the soak's seam). */
export interface DeliveryFaults {
  /** True: the same batch is also handed to a second invocation at once (at-least-once delivery). */
  duplicate?(records: readonly SQSRecord[]): boolean;
  /**
   * A number: the invocation dies after that many milliseconds, as when Lambda is killed mid-job.
   * Its messages are neither deleted nor failed, so SQS delivers them again after the visibility
   * timeout; from then on `invocationAbandoned()` is true inside it, for ports that play dead.
   */
  abandonAfterMs?(records: readonly SQSRecord[]): number | undefined;
  /** Told when an invocation was abandoned before it ended by itself. */
  abandoned?(records: readonly SQSRecord[]): void;
}

const invocation = new AsyncLocalStorage<{ abandoned: boolean; readonly records: readonly SQSRecord[] }>();

/** Inside a poller invocation the fault injection abandoned: its calls must no longer land. */
export function invocationAbandoned(): boolean {
  return invocation.getStore()?.abandoned === true;
}

/** The records of the poller invocation this code runs in, if any. */
export function currentRecords(): readonly SQSRecord[] {
  return invocation.getStore()?.records ?? [];
}

export interface SqsPoller {
  /** Stops receiving, waits for in-flight invocations, then resolves. */
  stop(): Promise<void>;
}

const ERROR_BACKOFF_MS = 500;
/** How long a spare loop rests after an empty receive, unless work arrives first. */
const IDLE_PAUSE_MS = 5_000;

/**
 * Lets spare loops rest while the queue is empty, as the Lambda event source scales its pollers
 * down: one loop keeps long-polling, and whichever loop receives work wakes the others at once.
 */
class IdleLoops {
  private readonly resting = new Set<() => void>();

  constructor(private readonly stopping: AbortSignal) {
    stopping.addEventListener("abort", () => this.wake(), { once: true });
  }

  wake(): void {
    for (const resume of [...this.resting]) resume();
  }

  rest(): Promise<void> {
    if (this.stopping.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const resume = (): void => {
        clearTimeout(timer);
        this.resting.delete(resume);
        resolve();
      };
      const timer = setTimeout(resume, IDLE_PAUSE_MS);
      this.resting.add(resume);
    });
  }
}

/** Plays the Lambda SQS event source: receive a batch, invoke the handler, delete what succeeded. */
export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const batchSize = options.batchSize ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
    throw new RangeError(`batchSize must be an integer from 1 to 10, got ${batchSize}`);
  }
  const settings: LoopSettings = {
    ...options,
    batchSize,
    waitTimeSeconds: options.waitTimeSeconds ?? 1,
    functionTimeoutMs: options.functionTimeoutMs ?? 120_000,
    region: options.region ?? "us-east-1",
    functionName: options.functionName ?? "worker",
    onError: options.onError ?? ((error) => console.error("SQS poller:", error)),
    faults: options.faults ?? {},
  };
  const stopping = new AbortController();
  const idle = new IdleLoops(stopping.signal);
  const loops = Array.from({ length: options.concurrency ?? 1 }, (_, index) =>
    pollLoop(settings, stopping.signal, idle, index === 0),
  );
  return {
    async stop(): Promise<void> {
      stopping.abort();
      await Promise.all(loops);
    },
  };
}

type LoopSettings = Required<Omit<SqsPollerOptions, "concurrency">>;

async function pollLoop(
  settings: LoopSettings,
  stopping: AbortSignal,
  idle: IdleLoops,
  alwaysPolls: boolean,
): Promise<void> {
  const report = async (error: unknown): Promise<void> => {
    settings.onError(error);
    await sleep(ERROR_BACKOFF_MS, undefined, { signal: stopping }).catch(() => {});
  };
  while (!stopping.aborted) {
    let messages: Message[];
    const receivedFrom = Date.now();
    try {
      messages = await receive(settings);
    } catch (error) {
      await report(error);
      continue;
    }
    // Messages received while stop() waited are still invoked; dropping them would hide them
    // for the whole visibility timeout.
    if (messages.length > 0) {
      idle.wake();
      await invoke(settings, messages).catch(report);
    } else if (!alwaysPolls && Date.now() - receivedFrom >= settings.waitTimeSeconds * 1000) {
      // Only a receive that waited its whole time found the queue idle: fauxqs ends every pending
      // long poll when one message arrives, and all but one of them come back empty at once.
      await idle.rest();
    }
  }
}

/** How much longer than its wait a receive may take to answer on a busy machine. */
const RECEIVE_SLACK_MS = 30_000;

// Never cut short: fauxqs keeps an abandoned long poll open on its side and takes the next message
// sent to the queue into flight, where nobody sees it until the visibility timeout ends. So a
// receive is not aborted on stop (a short wait keeps stop() quick instead), and it outlasts the
// client's own request timeout, which is the function's call budget (2 s when deployed), not the
// event source's.
async function receive(settings: LoopSettings): Promise<Message[]> {
  const { Messages } = await settings.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: settings.queueUrl,
      MaxNumberOfMessages: settings.batchSize,
      WaitTimeSeconds: settings.waitTimeSeconds,
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
    }),
    { requestTimeout: settings.waitTimeSeconds * 1000 + RECEIVE_SLACK_MS },
  );
  return Messages ?? [];
}

async function invoke(settings: LoopSettings, messages: Message[]): Promise<void> {
  const event: SQSEvent = {
    Records: messages.map((message) => toRecord(message, settings.queueArn, settings.region)),
  };
  const { faults } = settings;
  if (faults.duplicate?.(event.Records)) {
    await Promise.all([invokeOnce(settings, event), invokeOnce(settings, event)]);
    return;
  }
  await invokeOnce(settings, event);
}

async function invokeOnce(settings: LoopSettings, event: SQSEvent): Promise<void> {
  const state = { abandoned: false, records: event.Records };
  const abandonAfterMs = settings.faults.abandonAfterMs?.(event.Records);
  const run = invocation.run(state, () => settings.handler(event, lambdaContext(settings)));
  if (abandonAfterMs !== undefined) {
    let timer: NodeJS.Timeout | undefined;
    const died = await Promise.race([
      run.then(
        () => false,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), abandonAfterMs);
      }),
    ]);
    clearTimeout(timer);
    if (died) {
      state.abandoned = true;
      settings.faults.abandoned?.(event.Records);
      // A dead invocation reports nothing: SQS redelivers after the visibility timeout.
      run.catch(() => {});
      return;
    }
  }
  const response = await withTimeout(run, settings.functionTimeoutMs);
  const failed = new Set(
    (response ?? { batchItemFailures: [] }).batchItemFailures.map((f) => f.itemIdentifier),
  );
  const unknown = [...failed].filter((id) => !event.Records.some((record) => record.messageId === id));
  if (unknown.length > 0) {
    // Lambda treats a failure naming no record of the batch as a failure of the whole batch.
    throw new Error(`batchItemFailures names unknown message ids: ${unknown.join(", ")}`);
  }
  const succeeded = event.Records.filter((record) => !failed.has(record.messageId));
  await deleteMessages(settings, succeeded);
}

async function deleteMessages(settings: LoopSettings, records: SQSRecord[]): Promise<void> {
  for (let start = 0; start < records.length; start += 10) {
    const chunk = records.slice(start, start + 10);
    const { Failed } = await settings.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: settings.queueUrl,
        Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
      }),
    );
    if (Failed !== undefined && Failed.length > 0) {
      settings.onError(new Error(`DeleteMessageBatch failed for ${JSON.stringify(Failed)}`));
    }
  }
}

function lambdaContext(settings: LoopSettings): Context {
  return fakeLambdaContext({
    functionName: settings.functionName,
    region: settings.region,
    timeoutMs: settings.functionTimeoutMs,
  });
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Handler timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
