// docs/protocol.md against shared/protocol.ts: every event of the typed event maps has its own
// heading, every error code its row, so the document cannot fall behind the types. Pure logic:
// the event names come from parsing the source with the TypeScript compiler, not from a list.
import { readFileSync } from "node:fs";
import { expect } from "chai";
import ts from "typescript";
import { ERROR_CODES } from "../shared/protocol.js";

const fileUrl = (file: string) => new URL(`../${file}`, import.meta.url);
const read = (file: string) => readFileSync(fileUrl(file), "utf8");

/** The member names of each named interface declared at the top level of `source`. */
function interfaceMembers(source: string, names: string[]): Map<string, string[]> {
  const file = ts.createSourceFile("protocol.ts", source, ts.ScriptTarget.Latest, true);
  const found = new Map<string, string[]>();
  for (const statement of file.statements) {
    if (!ts.isInterfaceDeclaration(statement) || !names.includes(statement.name.text)) continue;
    const members = statement.members.flatMap((member) => {
      const name = member.name;
      if (!name) return [];
      if (ts.isIdentifier(name) || ts.isStringLiteral(name)) return [name.text];
      throw new Error(`${statement.name.text}: unexpected member name ${name.getText(file)}`);
    });
    found.set(statement.name.text, members);
  }
  return found;
}

/** The text of the level-2 section whose heading starts with `title`, up to the next one. */
function section(markdown: string, title: string): string {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`## ${title}`));
  if (start < 0) return "";
  const end = lines.findIndex((line, i) => i > start && line.startsWith("## "));
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

/** Names without a heading of their own (`### \`name\``, any level below 2) in `text`. */
function withoutHeading(text: string, names: string[]): string[] {
  const headings = text.split("\n").filter((line) => /^#{3,6} /.test(line));
  return names.filter((name) => !headings.some((h) => h.includes(`\`${name}\``)));
}

/** Codes without a table row that starts with the code as a code span in `text`. */
function withoutRow(text: string, codes: readonly string[]): string[] {
  const rows = text.split("\n").filter((line) => line.startsWith("|"));
  return codes.filter((code) => !rows.some((row) => row.startsWith(`| \`${code}\` |`)));
}

describe("docs/protocol.md documents shared/protocol.ts", () => {
  const doc = read("docs/protocol.md");
  const maps = interfaceMembers(read("shared/protocol.ts"), [
    "ClientToServerEvents",
    "ServerToClientEvents",
  ]);
  const requests = maps.get("ClientToServerEvents") ?? [];
  const events = maps.get("ServerToClientEvents") ?? [];

  it("finds the event maps in shared/protocol.ts", () => {
    expect(requests).to.include.members(["message:send", "history:since", "typing"]);
    expect(events).to.include.members(["message:new", "session:expired", "typing"]);
  });

  it("has a heading for every request event under Requests", () => {
    const missing = withoutHeading(section(doc, "Requests"), requests);
    expect(missing, "requests without a heading in docs/protocol.md").to.deep.equal([]);
  });

  it("has a heading for every server event under Events", () => {
    const missing = withoutHeading(section(doc, "Events"), events);
    expect(missing, "events without a heading in docs/protocol.md").to.deep.equal([]);
  });

  it("has a row for every error code under Error codes", () => {
    const missing = withoutRow(section(doc, "Error codes"), ERROR_CODES);
    expect(missing, "error codes without a row in docs/protocol.md").to.deep.equal([]);
  });

  it("states its version at the top and lists it under Changes", () => {
    const version = /^\*\*Protocol version (\d+\.\d+)\*\*$/m.exec(doc.slice(0, 500))?.[1];
    expect(version, "no 'Protocol version x.y' near the top").to.be.a("string");
    expect(section(doc, "Changes")).to.include(`**${version}**`);
  });

  describe("the checks themselves", () => {
    const sample = [
      "## Requests",
      "### `a:b`",
      "## Events",
      "mentions `c:d` in prose only",
      "## Error codes",
      "| `X` | row |",
    ].join("\n");

    it("miss a name that has no heading, or a heading in another section", () => {
      expect(withoutHeading(section(sample, "Events"), ["a:b", "c:d"])).to.deep.equal([
        "a:b",
        "c:d",
      ]);
      expect(withoutHeading(section(sample, "Requests"), ["a:b"])).to.deep.equal([]);
    });

    it("miss a code without its row", () => {
      expect(withoutRow(section(sample, "Error codes"), ["X", "Y"])).to.deep.equal(["Y"]);
    });

    it("collect string-literal and identifier members of the named interfaces only", () => {
      const source = [
        'export interface A { "x:y": () => void; z: () => void }',
        "interface B { w(): void }",
      ].join("\n");
      const found = interfaceMembers(source, ["A"]);
      expect([...found.entries()]).to.deep.equal([["A", ["x:y", "z"]]]);
    });
  });
});
