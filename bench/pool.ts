/** Runs `count` tasks with at most `concurrency` in flight; results keep the tasks' order. */
export async function runPool<T>(
  count: number,
  concurrency: number,
  task: (index: number, lane: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const lane = async (laneIndex: number): Promise<void> => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index, laneIndex);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, (_, laneIndex) => lane(laneIndex)));
  return results;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
