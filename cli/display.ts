// cli-progress is CommonJS: its named exports exist only on the default export under ESM.
import cliProgress from "cli-progress";
import type { CliJob } from "./job.js";
import { changeKey, formatBarLine, formatProgressLine, fractionDone } from "./progress-format.js";

/** Shows a job's progress while the CLI waits; `stop` leaves the terminal as it found it. */
export interface JobDisplay {
  update(job: CliJob): void;
  stop(): void;
}

/** Scale of the bar's value: cli-progress counts in integers, a job's fraction is 0–1. */
const STEPS = 1000;

/** The live bar on a terminal: redrawn in place a few times a second, so elapsed time and ETA tick. */
export function barDisplay(stream: NodeJS.WriteStream): JobDisplay {
  let current: CliJob | undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      barsize: 24,
      fps: 4,
      hideCursor: true,
      linewrap: false,
      clearOnComplete: false,
      stopOnComplete: false,
      format: (options, params) =>
        current
          ? formatBarLine(current, Date.now(), cliProgress.Format.BarFormat(params.progress, options))
          : "",
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(job) {
      current = job;
      const value = Math.round((fractionDone(job) ?? 0) * STEPS);
      if (started) bar.update(value);
      else {
        bar.start(STEPS, value);
        started = true;
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Without a terminal (a pipe, a CI log): one line per change, never the same line twice in a row. */
export function lineDisplay(write: (line: string) => void): JobDisplay {
  let last: string | undefined;
  return {
    update(job) {
      const key = changeKey(job);
      if (key === last) return;
      last = key;
      write(`${formatProgressLine(job, Date.now())}\n`);
    },
    stop() {},
  };
}
