import { describe, expect, it } from "vitest";
import { ExternalApiError } from "../../lambdas/shared/domain/errors.js";
import { failureDelaySeconds, retryAfterOf, retryDelaySeconds } from "../../lambdas/shared/worker/backoff.js";

const lowest = (): number => 0;
const highest = (): number => 0.999_999;

describe("retryDelaySeconds", () => {
  it("doubles the ceiling with each attempt and draws from its upper half", () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelaySeconds(attempt, 2, 300, lowest))).toEqual([1, 2, 4, 8]);
    expect([1, 2, 3, 4].map((attempt) => retryDelaySeconds(attempt, 2, 300, highest))).toEqual([2, 4, 8, 16]);
  });

  it("never exceeds the maximum, however many attempts", () => {
    for (const attempt of [9, 20, 100, 1_000]) {
      expect(retryDelaySeconds(attempt, 2, 300, lowest)).toBe(150);
      expect(retryDelaySeconds(attempt, 2, 300, highest)).toBe(300);
    }
  });

  it("stays within [ceiling / 2, ceiling] for any random draw", () => {
    for (let draw = 0; draw < 1; draw += 0.01) {
      for (const attempt of [1, 2, 3, 5, 8, 12]) {
        const ceiling = Math.min(60, 3 * 2 ** (attempt - 1));
        const delay = retryDelaySeconds(attempt, 3, 60, () => draw);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(delay).toBeLessThanOrEqual(ceiling);
        expect(Number.isInteger(delay)).toBe(true);
      }
    }
  });

  it("treats attempt 0 like attempt 1", () => {
    expect(retryDelaySeconds(0, 4, 300, highest)).toBe(retryDelaySeconds(1, 4, 300, highest));
  });

  it("retries at once with a base of 0 seconds", () => {
    for (const attempt of [1, 5, 999]) expect(retryDelaySeconds(attempt, 0, 300)).toBe(0);
  });

  it("uses Math.random by default and stays in bounds", () => {
    for (let i = 0; i < 200; i++) {
      const delay = retryDelaySeconds(3, 2, 300);
      expect(delay).toBeGreaterThanOrEqual(4);
      expect(delay).toBeLessThanOrEqual(8);
    }
  });
});

describe("failureDelaySeconds", () => {
  const settings = { retryBaseSeconds: 2, retryMaxSeconds: 300 };

  it("takes the API's Retry-After when it sent one, capped by the backoff maximum", () => {
    expect(failureDelaySeconds(1, settings, 17, highest)).toBe(17);
    expect(failureDelaySeconds(5, settings, 0, highest)).toBe(0);
    expect(failureDelaySeconds(1, settings, 3_600, lowest)).toBe(300);
  });

  it("falls back to the backoff without one", () => {
    expect(failureDelaySeconds(3, settings, undefined, lowest)).toBe(retryDelaySeconds(3, 2, 300, lowest));
    expect(failureDelaySeconds(3, settings, undefined, highest)).toBe(retryDelaySeconds(3, 2, 300, highest));
  });

  it("reads the Retry-After of an ExternalApiError only", () => {
    expect(retryAfterOf(new ExternalApiError("busy", true, "http_429", { retryAfterSeconds: 4 }))).toBe(4);
    expect(retryAfterOf(new ExternalApiError("busy", true))).toBeUndefined();
    expect(retryAfterOf(new Error("boom"))).toBeUndefined();
  });
});
