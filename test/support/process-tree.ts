import { execFileSync } from "node:child_process";

/** Every process below `pid`, from the process table. */
export function descendants(pid: number): number[] {
  const table = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends a process this test started and everything below it, by pid. A test that fails half-way
 * must not leave `npm start` behind: killing npm alone orphans its shell, node and java.
 */
export function killProcessTree(pid: number | undefined, known: readonly number[] = []): void {
  if (pid === undefined) return;
  const pids = [...new Set([...known, ...(alive(pid) ? descendants(pid) : []), pid])];
  for (const each of pids) if (alive(each)) process.kill(each, "SIGKILL");
}
