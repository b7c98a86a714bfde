import { spawnSync } from "node:child_process";
import { cpus, release, totalmem } from "node:os";

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly java: string;
  readonly commit: string;
  /** Uncommitted changes outside bench/ when the run started. */
  readonly dirty: boolean;
  readonly date: string;
  readonly quick: boolean;
}

export function machineInfo(quick: boolean): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    cores: cpus().length,
    memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    platform: `${process.platform} ${process.arch} ${release()}`,
    java: firstLine(tryRun("java", ["-version"])),
    commit: tryRun("git", ["rev-parse", "--short", "HEAD"]).trim(),
    dirty: tryRun("git", ["status", "--porcelain", "--", ".", ":!bench"]).trim() !== "",
    date: new Date().toISOString(),
    quick,
  };
}

/** stdout and stderr together (java -version writes to stderr); empty when the command is missing. */
function tryRun(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  return `${result.stdout ?? ""}${result.stderr ?? ""}`;
}

function firstLine(text: string): string {
  return text.split("\n")[0]?.trim() ?? "unknown";
}
