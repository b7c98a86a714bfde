import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { lockFileOf, PROJECT_ROOT, projectRootOf, REPO_ROOT } from "../../lib/lambda-function.js";

const dir = mkdtempSync(join(tmpdir(), "package-paths-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("where the functions are bundled from", () => {
  it("is this repository when run from it", () => {
    expect(PROJECT_ROOT).toBe(REPO_ROOT);
    expect(lockFileOf(PROJECT_ROOT)).toBe(join(REPO_ROOT, "package-lock.json"));
  });

  it("is the project whose node_modules holds the package, also in pnpm's nested layout", () => {
    expect(projectRootOf("/home/me/app/node_modules/mcp-async-jobs")).toBe("/home/me/app");
    expect(
      projectRootOf("/home/me/app/node_modules/.pnpm/mcp-async-jobs@0.1.0/node_modules/mcp-async-jobs"),
    ).toBe("/home/me/app");
  });

  it("needs the project's lock file, and says which files it looked for where", () => {
    expect(() => lockFileOf(dir)).toThrow(/no lock file \(package-lock\.json, yarn\.lock, pnpm-lock\.yaml/);
    expect(() => lockFileOf(dir)).toThrow(dir);
    writeFileSync(join(dir, "yarn.lock"), "");
    expect(lockFileOf(dir)).toBe(join(dir, "yarn.lock"));
  });
});
