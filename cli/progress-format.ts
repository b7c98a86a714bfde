import type { CliJob } from "./job.js";

/** `75 s` → `1m15s`: short enough for a bar line. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, "0")}m`;
  if (minutes > 0) return `${minutes}m${String(seconds).padStart(2, "0")}s`;
  return `${seconds}s`;
}

/** Done fraction 0–1 when the job reports a total, else undefined (the bar then shows no fill). */
export function fractionDone(job: CliJob): number | undefined {
  const progress = job.progress;
  if (progress?.total === undefined) return job.status === "completed" ? 1 : undefined;
  return Math.min(1, Math.max(0, progress.current / progress.total));
}

/** `6/15 40%`, or `6` when the job gives no total; empty before any progress. */
export function formatCount(job: CliJob): string {
  const progress = job.progress;
  if (!progress) return "";
  const fraction = fractionDone(job);
  return progress.total === undefined || fraction === undefined
    ? `${progress.current}`
    : `${progress.current}/${progress.total} ${Math.floor(fraction * 100)}%`;
}

/** Time since the job was created, and the time left when the job gives `estimatedCompletion`. */
export function formatTimes(job: CliJob, now: number): string {
  const created = Date.parse(job.createdAt);
  const parts = Number.isFinite(created) ? [`elapsed ${formatDuration(now - created)}`] : [];
  const eta = job.estimatedCompletion === undefined ? Number.NaN : Date.parse(job.estimatedCompletion);
  if (Number.isFinite(eta) && job.status !== "completed") parts.push(`ETA ${formatDuration(eta - now)}`);
  return parts.join(", ");
}

/** One redraw of the live bar: the bar (drawn by cli-progress), then the same text as a progress line. */
export function formatBarLine(job: CliJob, now: number, bar: string): string {
  return `${bar} ${formatProgressLine(job, now)}`;
}

/** One line per change without a terminal: `running 6/15 40% · Waited 6 s · elapsed 6s, ETA 9s`. */
export function formatProgressLine(job: CliJob, now: number): string {
  const retry = job.lastError ? `retrying after ${job.lastError.code} (attempt ${job.attempt})` : undefined;
  return [
    `${job.status}${job.progress ? ` ${formatCount(job)}` : ""}`,
    job.progress?.message,
    outcome(job),
    retry,
  ]
    .concat(formatTimes(job, now))
    .filter((part) => part !== undefined && part !== "")
    .join(" · ");
}

/** Why a job failed, in its own words. */
function outcome(job: CliJob): string | undefined {
  return job.error ? `${job.error.code}: ${job.error.message}` : undefined;
}

/** What counts as a change worth a new line: status, attempt, progress or the estimate moved. */
export function changeKey(job: CliJob): string {
  return JSON.stringify([
    job.status,
    job.attempt,
    job.progress,
    job.estimatedCompletion,
    job.lastError?.code,
  ]);
}
