/**
 * Exponential backoff with jitter: about base × 2^(attempt−1), capped, drawn from the upper half
 * so retries of many jobs spread out without ever coming back at once.
 */
export function retryDelaySeconds(
  attempt: number,
  baseSeconds: number,
  maxSeconds: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
