/** How big a run is: `npm run bench` runs the full profile, `npm run bench -- --quick` the small one. */
export interface BenchProfile {
  readonly name: "full" | "quick";
  /** Samples per scenario row (they run concurrently, so this costs little time). */
  readonly scenarioRepeats: number;
  /** Sequential start_slow_api round trips (and as many floor, ping and get_job round trips). */
  readonly sequentialCalls: number;
  /** The sequential series run in interleaved blocks of this size, so drift hits every series alike. */
  readonly sequentialBlock: number;
  readonly concurrentClients: number;
  /** Clients at once in the worker-on start series. */
  readonly workerOnClients: number;
  readonly callsPerConcurrentClient: number;
  /** Jobs per polling method in the visibility-lag measurement. */
  readonly lagSamplesPerMethod: number;
  readonly throughputJobs: number;
  readonly throughputJobSeconds: number;
  /** Poller loops × batch size = the worker concurrency C; batch 1: one job per invocation, as deployed. */
  readonly throughputPollers: number;
  readonly throughputBatchSize: number;
  /** MCP clients starting the throughput jobs at the same time. */
  readonly throughputStartLanes: number;
  /** Fresh node processes per cold-start variant. */
  readonly coldStartRuns: number;
  /** batch_api jobs run at once in the long-jobs phase, and how long each lasts. */
  readonly longJobs: number;
  readonly longJobSeconds: number;
  /** The whole run is killed past this, whatever it is doing. */
  readonly watchdogMs: number;
}

export const FULL_PROFILE: BenchProfile = {
  name: "full",
  scenarioRepeats: 3,
  sequentialCalls: 500,
  sequentialBlock: 100,
  concurrentClients: 50,
  workerOnClients: 20,
  callsPerConcurrentClient: 20,
  lagSamplesPerMethod: 10,
  throughputJobs: 1000,
  throughputJobSeconds: 2,
  throughputPollers: 50,
  throughputBatchSize: 1,
  throughputStartLanes: 20,
  coldStartRuns: 10,
  longJobs: 10,
  longJobSeconds: 20,
  watchdogMs: 15 * 60_000,
};

export const QUICK_PROFILE: BenchProfile = {
  name: "quick",
  scenarioRepeats: 1,
  sequentialCalls: 100,
  sequentialBlock: 50,
  concurrentClients: 10,
  workerOnClients: 20,
  callsPerConcurrentClient: 10,
  lagSamplesPerMethod: 3,
  throughputJobs: 200,
  throughputJobSeconds: 2,
  throughputPollers: 50,
  throughputBatchSize: 1,
  throughputStartLanes: 20,
  coldStartRuns: 3,
  longJobs: 5,
  longJobSeconds: 10,
  watchdogMs: 6 * 60_000,
};
