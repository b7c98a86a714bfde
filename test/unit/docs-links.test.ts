import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const REPO_ROOT = resolve(import.meta.dirname, "../..");

/** A relative link in a Markdown file that does not lead to a file, or a heading, inside the repository. */
interface BrokenLink {
  readonly file: string;
  readonly target: string;
  readonly reason: string;
}

/** README.md and every page under docs/, as paths relative to the root. */
function documentationFiles(root: string): string[] {
  const docs = join(root, "docs");
  const pages = existsSync(docs)
    ? readdirSync(docs)
        .filter((name) => name.endsWith(".md"))
        .map((name) => `docs/${name}`)
    : [];
  return ["README.md", ...pages.sort()];
}

/** The Markdown outside fenced code blocks and HTML comments, where links are live. */
function liveText(markdown: string): string {
  const withoutComments = markdown.replace(/<!--[\s\S]*?-->/g, "");
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of withoutComments.split("\n")) {
    const marker = /^\s*(```+|~~~+)/.exec(line)?.[1];
    if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      continue;
    }
    if (fence === undefined) lines.push(line);
  }
  return lines.join("\n");
}

/** Link targets: inline links and images, and reference definitions; code spans hold none. */
function linkTargets(markdown: string): string[] {
  const text = liveText(markdown).replace(/`[^`\n]*`/g, "");
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (match) => match[1] ?? "",
  );
  const references = [...text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map(
    (match) => match[1] ?? "",
  );
  return [...inline, ...references].filter((target) => target.length > 0);
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of liveText(markdown).split("\n")) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

function brokenLinks(root: string, files: readonly string[]): BrokenLink[] {
  const broken: BrokenLink[] = [];
  for (const file of files) {
    const source = join(root, file);
    for (const target of linkTargets(readFileSync(source, "utf8"))) {
      // Links with a scheme (https:, mailto:) or protocol-relative ones leave the repository: not checked.
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue;
      const hashAt = target.indexOf("#");
      const pathPart = decodeURIComponent(hashAt === -1 ? target : target.slice(0, hashAt));
      const anchor = hashAt === -1 ? undefined : decodeURIComponent(target.slice(hashAt + 1));
      const resolved = pathPart === "" ? source : resolve(dirname(source), pathPart);
      const inRepo = relative(root, resolved);
      if (isAbsolute(pathPart) || inRepo.startsWith("..") || isAbsolute(inRepo)) {
        broken.push({ file, target, reason: "leads outside the repository" });
        continue;
      }
      if (!existsSync(resolved)) {
        broken.push({ file, target, reason: "no such file" });
        continue;
      }
      if (anchor !== undefined && anchor !== "" && resolved.endsWith(".md")) {
        if (!headingAnchors(readFileSync(resolved, "utf8")).has(anchor)) {
          broken.push({ file, target, reason: `no heading with the anchor #${anchor}` });
        }
      }
    }
  }
  return broken;
}

describe("documentation links", () => {
  it("every relative link and anchor in README.md and docs/*.md resolves inside the repository", () => {
    const files = documentationFiles(REPO_ROOT);
    expect(files).toContain("docs/architecture.md");
    // The scan finds the front page's links (an empty scan would pass vacuously).
    expect(linkTargets(readFileSync(join(REPO_ROOT, "README.md"), "utf8")).length).toBeGreaterThan(10);
    expect(brokenLinks(REPO_ROOT, files)).toEqual([]);
  });

  it("keeps the README a front page of at most 250 lines", () => {
    const lines = readFileSync(join(REPO_ROOT, "README.md"), "utf8").trimEnd().split("\n");
    expect(lines.length).toBeLessThanOrEqual(250);
  });
});

describe("the link check itself", () => {
  const root = mkdtempSync(join(tmpdir(), "docs-links-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "docs"));
  writeFileSync(
    join(root, "docs", "page.md"),
    "# A page\n\n## Walk 1: one `start_<type>` call\n\n## Same\n\n## Same\n",
  );
  writeFileSync(
    join(root, "README.md"),
    [
      "# Front",
      "[good](docs/page.md) [anchor](docs/page.md#walk-1-one-start_type-call) [second](docs/page.md#same-1)",
      "[self](#front) [web](https://example.com/x.md) [ref]: docs/page.md",
      "[missing](docs/missing.md) [bad anchor](docs/page.md#nowhere) [outside](../elsewhere.md)",
      "`[in code](docs/nope.md)`",
      "```",
      "[in a fence](docs/nope.md)",
      "```",
      "<!-- pending: [later](docs/later.md) -->",
    ].join("\n"),
  );

  it("reports exactly the missing file, the unknown anchor and the link that leaves the repository", () => {
    expect(brokenLinks(root, documentationFiles(root))).toEqual([
      { file: "README.md", target: "docs/missing.md", reason: "no such file" },
      { file: "README.md", target: "docs/page.md#nowhere", reason: "no heading with the anchor #nowhere" },
      { file: "README.md", target: "../elsewhere.md", reason: "leads outside the repository" },
    ]);
  });
});
