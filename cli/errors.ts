/** The `jobs` CLI's exit codes: part of its public contract (README, "From the terminal"). */
export const EXIT = {
  /** The job completed, or a command that does not wait succeeded. */
  ok: 0,
  /** The job failed. */
  failed: 1,
  /** The job was cancelled. */
  cancelled: 2,
  /** Bad usage, a tool error (unknown job id, bad argument), no connection, or 401/403. */
  usage: 3,
  /** Ctrl-C while waiting: the job goes on. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line on stderr, then exits with `exitCode`; never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.usage,
  ) {
    super(message);
    this.name = "CliError";
  }
}
