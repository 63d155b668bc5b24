// The YAML/graph round trip is a property: every flow of the repository and
// every gold flow of the nl2flow eval goes YAML -> graph -> YAML with the
// same meaning (yaml.parse equal) and every comment of the original kept.
// Edits applied through the Document keep the comments they do not touch.
import { describe, expect, test } from "vitest";
import { Lexer, parse } from "yaml";
import { graphToYaml, parseFlow, stepAtLine, type Graph, type StepNode } from "../src/builder/model";
import { deleteStep, edit, insertStep, moveStep, renameStep, setField, setTrigger } from "../src/builder/edits";
import { docFlows, goldFlows, repoFlows } from "./flowfiles";

/** comments lists the text of every comment token in a YAML source. */
function comments(src: string): string[] {
  return [...new Lexer().lex(src)].filter((t) => t.startsWith("#")).map((t) => t.slice(1).trim());
}

function expectCommentsKept(before: string, after: string, except: string[] = []) {
  const out = comments(after);
  const missing = comments(before).filter((c) => !except.includes(c) && !out.includes(c));
  expect(missing, "comments lost").toEqual([]);
}

function graphOf(text: string): Graph {
  const p = parseFlow(text);
  if (!p.ok) throw new Error(`${p.error.line}:${p.error.col}: ${p.error.message}`);
  return p.graph;
}

const repo = repoFlows();
const docsFlows = docFlows();
const golds = goldFlows();

describe("the corpus", () => {
  test("holds the repository's flows and the gold flows", () => {
    const names = repo.map((f) => f.name);
    for (const f of ["examples/flows/order-flow.yaml", "examples/flows/closed-won.yaml", "examples/flows/nightly-report.yaml", "examples/flows/orders-api.yaml", "bench/flows/order-flow.yaml"]) {
      expect(names).toContain(f);
    }
    expect(docsFlows.map((f) => f.name)).toContain("README.md#1");
    expect(golds.length).toBeGreaterThan(150);
    // the outlines really nest
    expect(golds.some((g) => /\n +then:/.test(g.text) && /else:/.test(g.text))).toBe(true);
    expect(golds.some((g) => /do:/.test(g.text))).toBe(true);
  });
});

describe("YAML -> graph -> YAML", () => {
  for (const f of [...repo, ...docsFlows, ...golds]) {
    test(f.name, () => {
      const p = parseFlow(f.text);
      if (!p.ok) throw new Error(`${f.name}: ${p.error.line}:${p.error.col} ${p.error.message}`);
      const out = graphToYaml(p.graph, p.doc);
      expect(parse(out)).toEqual(parse(f.text));
      expectCommentsKept(f.text, out);
      // and the graph of the output is the same graph
      const g2 = graphOf(out);
      expect(g2.all.map((s) => [s.key, s.kind, s.id])).toEqual(p.graph.all.map((s) => [s.key, s.kind, s.id]));
      // an edit of one field changes that line only
      const first = p.graph.all.find((s) => s.explicitId);
      if (first) {
        const r = edit(f.text, (doc) => setField(doc, [...first.path, "id"], "renamed_x"));
        const a = f.text.split("\n");
        const b = r.text.split("\n");
        expect(b.length).toBe(a.length);
        expect(a.filter((l, i) => l !== b[i]).map((l) => l.trim())).toEqual([expect.stringMatching(new RegExp(`id: ${first.id}\\b`))]);
      }
    });
  }
});

describe("the graph", () => {
  const closedWon = repo.find((f) => f.name === "examples/flows/closed-won.yaml")!.text;

  test("nests if/then/else, keeps paths, assigns ids as the engine does", () => {
    const g = graphOf(closedWon);
    expect(g.trigger.kind).toBe("poll");
    expect(g.steps.map((s) => s.id)).toEqual(["won"]);
    const won = g.steps[0];
    expect(won.kind).toBe("if");
    expect(won.branches.map((b) => b.label)).toEqual(["then", "else"]);
    const then = won.branches[0].steps;
    expect(then.map((s) => s.id)).toEqual(["existing", "fresh"]);
    expect(then[1].branches[0].steps.map((s) => [s.id, s.call, s.path.join(".")])).toEqual([
      ["project", "tracker.createProject", "steps.0.then.1.then.0"],
      ["channel", "chat.listChannels", "steps.0.then.1.then.1"],
      ["announce", "chat.postMessage", "steps.0.then.1.then.2"],
    ]);
    const auto = graphOf("name: a\nsteps:\n  - set: {a: 1}\n  - if: =true\n    then:\n      - wait: 1s\n  - respond: {}\n");
    expect(auto.all.map((s) => s.id)).toEqual(["set_1", "if_2", "wait_3", "respond_4"]);
  });

  test("switch cases and foreach bodies are branches; subflows are nodes", () => {
    const g = graphOf(`name: s
steps:
  - id: pick
    switch:
      - when: =trigger.body.a == 1
        steps:
          - id: one
            subflow: other
      - when: =true
    default:
      - id: loop
        foreach: =trigger.body.items
        do:
          - id: each
            set: {x: =item}
`);
    const pick = g.steps[0];
    expect(pick.branches.map((b) => [b.label, b.path.join("."), b.steps.map((s) => s.id)])).toEqual([
      ["case 1: =trigger.body.a == 1", "steps.0.switch.0.steps", ["one"]],
      ["case 2: =true", "steps.0.switch.1.steps", []],
      ["default", "steps.0.default", ["loop"]],
    ]);
    expect(g.byKey.get("steps.0.switch.0.steps.0")!.subflow).toBe("other");
    expect(g.byKey.get("steps.0.default.0")!.branches[0].steps[0].id).toBe("each");
  });

  test("an unknown step kind is a node of kind unknown with a reason", () => {
    const g = graphOf("name: u\nsteps:\n  - id: x\n    bogus: 1\n  - just a string\n");
    expect(g.steps.map((s) => [s.kind, s.unknown])).toEqual([
      ["unknown", 'unknown step kind "bogus"'],
      ["unknown", "a step is a mapping (id and one of call, set, if, switch, foreach, wait, respond, fail, subflow)"],
    ]);
  });

  test("a problem's line finds the innermost step", () => {
    const g = graphOf(closedWon);
    const line = closedWon.split("\n").findIndex((l) => l.includes("channelId:")) + 1;
    expect(stepAtLine(g, line)!.id).toBe("announce");
    const line2 = closedWon.split("\n").findIndex((l) => l.includes("- id: fresh")) + 1;
    expect(stepAtLine(g, line2)!.id).toBe("fresh");
    expect(stepAtLine(g, 1)).toBeUndefined();
  });

  test("a YAML that does not parse gives line and column", () => {
    const p = parseFlow("name: x\nsteps:\n  - id: a\n    set: {a: 1\n");
    expect(p.ok).toBe(false);
    if (!p.ok) {
      expect(p.error.line).toBeGreaterThanOrEqual(4);
      expect(p.error.message).not.toBe("");
    }
    const q = parseFlow("- a list\n");
    expect(q.ok).toBe(false);
  });

  test("graphToYaml writes a reordered graph, comments following their steps", () => {
    const order = repo.find((f) => f.name === "examples/flows/order-flow.yaml")!.text;
    const p = parseFlow(order);
    if (!p.ok) throw new Error("parse");
    const g = { ...p.graph, steps: [...p.graph.steps].reverse() };
    const out = graphToYaml(g, p.doc);
    expect(parse(out).steps.map((s: { id: string }) => s.id)).toEqual(["reply", "post", "transform"]);
    expectCommentsKept(order, out);
    // the comment inside post's `with` is still inside post
    const post = out.slice(out.indexOf("- id: post"), out.indexOf("- id: transform"));
    expect(post).toContain("# The downstream");
  });

  test("graphToYaml moves a step between sequences", () => {
    const p = parseFlow(closedWon);
    if (!p.ok) throw new Error("parse");
    const g = p.graph;
    const won = g.steps[0];
    const existing = won.branches[0].steps[0];
    // move `existing` out of the if, before it
    const moved: Graph = {
      ...g,
      steps: [existing, { ...won, branches: [{ ...won.branches[0], steps: won.branches[0].steps.slice(1) }, won.branches[1]] } as StepNode],
    };
    const out = graphToYaml(moved, p.doc);
    const v = parse(out);
    expect(v.steps.map((s: { id: string }) => s.id)).toEqual(["existing", "won"]);
    expect(v.steps[1].then.map((s: { id: string }) => s.id)).toEqual(["fresh"]);
    expectCommentsKept(closedWon, out);
  });
});

describe("edits keep the comments they do not touch", () => {
  const order = repo.find((f) => f.name === "examples/flows/order-flow.yaml")!.text;
  const closedWon = repo.find((f) => f.name === "examples/flows/closed-won.yaml")!.text;

  test("insert", () => {
    const { text, result } = edit(order, (doc) => insertStep(doc, ["steps"], 1, { id: "log", set: { seen: "=true" } }));
    expect(result).toEqual(["steps", 1]);
    expect(parse(text).steps.map((s: { id: string }) => s.id)).toEqual(["transform", "log", "post", "reply"]);
    expectCommentsKept(order, text);
    // into a branch that does not exist yet
    const r2 = edit(closedWon, (doc) => insertStep(doc, ["steps", 0, "else"], 0, { id: "lost", fail: "not won" }));
    expect(parse(r2.text).steps[0].else).toEqual([{ id: "lost", fail: "not won" }]);
    expectCommentsKept(closedWon, r2.text);
  });

  test("insert into an empty flow list makes a block list", () => {
    const { text } = edit("name: n\ntrigger:\n  manual: {}\nsteps: []  # none yet\n", (doc) => insertStep(doc, ["steps"], 0, { id: "a", set: {} }));
    expect(text).toContain("steps:");
    expect(text).toContain("  - id: a");
    expect(comments(text)).toContain("none yet");
  });

  test("delete", () => {
    const { text } = edit(order, (doc) => deleteStep(doc, ["steps", 2]));
    expect(parse(text).steps.map((s: { id: string }) => s.id)).toEqual(["transform", "post"]);
    expectCommentsKept(order, text);
    const r = edit(order, (doc) => deleteStep(doc, ["steps", 1]));
    // post's own comment goes with it; the file's first comment stays
    expect(comments(r.text)).toEqual(["The order flow: webhook -> transform -> POST downstream -> respond."]);
  });

  test("move within a sequence and across sequences", () => {
    const r = edit(order, (doc) => moveStep(doc, ["steps", 0], ["steps"], 3));
    expect(r.result).toEqual(["steps", 2]);
    expect(parse(r.text).steps.map((s: { id: string }) => s.id)).toEqual(["post", "reply", "transform"]);
    expectCommentsKept(order, r.text);
    const r2 = edit(closedWon, (doc) => moveStep(doc, ["steps", 0, "then", 1, "then", 2], ["steps", 0, "then"], 0));
    const v = parse(r2.text);
    expect(v.steps[0].then.map((s: { id: string }) => s.id)).toEqual(["announce", "existing", "fresh"]);
    expect(v.steps[0].then[2].then.map((s: { id: string }) => s.id)).toEqual(["project", "channel"]);
    expectCommentsKept(closedWon, r2.text);
    // out of a nested branch to the top, after the step that held it
    const r3 = edit(closedWon, (doc) => moveStep(doc, ["steps", 0, "then", 0], ["steps"], 1));
    expect(r3.result).toEqual(["steps", 1]);
    expect(parse(r3.text).steps.map((s: { id: string }) => s.id)).toEqual(["won", "existing"]);
    expect(() => edit(closedWon, (doc) => moveStep(doc, ["steps", 0], ["steps", 0, "then"], 0))).toThrow(/own branches/);
  });

  test("set a field, rename a step and its references, set the trigger", () => {
    const r = edit(order, (doc) => setField(doc, ["steps", 1, "with", "url"], "/hooks/elsewhere"));
    expect(parse(r.text).steps[1].with.url).toBe("/hooks/elsewhere");
    expectCommentsKept(order, r.text);
    const r2 = edit(order, (doc, g) => renameStep(doc, g, ["steps", 0], "normalise"));
    expect(r2.result).toBeNull();
    const v = parse(r2.text);
    expect(v.steps[0].id).toBe("normalise");
    expect(v.steps[1].with.body).toBe("=steps.normalise");
    expectCommentsKept(order, r2.text);
    const r3 = edit(order, (doc, g) => renameStep(doc, g, ["steps", 0], "post"));
    expect(r3.result).toMatch(/already used/);
    const r4 = edit(order, (doc, g) => renameStep(doc, g, ["steps", 0], "9x"));
    expect(r4.result).toMatch(/letters, digits/);
    const r5 = edit(order, (doc) => setTrigger(doc, "schedule", { cron: "0 9 * * *" }));
    expect(parse(r5.text).trigger).toEqual({ schedule: { cron: "0 9 * * *" } });
    expectCommentsKept(order, r5.text);
    const r6 = edit("name: n\nsteps: []\n", (doc) => setTrigger(doc, "webhook", { mode: "sync" }));
    expect(Object.keys(parse(r6.text))).toEqual(["name", "trigger", "steps"]);
    const r8 = edit("name: n\nsteps:\n  - id: a\n    set: {}\n", (doc) => setField(doc, ["steps", 0, "set", "message"], ""));
    const r9 = edit(r8.text, (doc) => setField(doc, ["steps", 0, "set", "message"], "='Hello, ' + trigger.body.name"));
    expect(r9.text).toContain("    set:\n      message: ='Hello, ' + trigger.body.name\n");
    const r7 = edit(order, (doc) => setField(doc, ["steps", 1, "timeout"], undefined));
    expect(parse(r7.text).steps[1].timeout).toBeUndefined();
  });

  test("an edit in the YAML updates the graph", () => {
    const g1 = graphOf(order);
    const g2 = graphOf(order.replace("id: post", "id: forward").replace("call: http.request", "call: chat.postMessage"));
    expect(g1.steps[1].id).toBe("post");
    expect(g2.steps[1].id).toBe("forward");
    expect(g2.steps[1].call).toBe("chat.postMessage");
    const g3 = graphOf(order + "  - id: extra\n    fail: stop\n");
    expect(g3.steps.map((s) => s.kind)).toEqual(["set", "call", "respond", "fail"]);
  });
});

describe("edits keep the user's formatting on the lines they do not touch", () => {
  const closedWon = repoFlows().find((f) => f.name === "examples/flows/closed-won.yaml")!.text;

  test("a folded description, blank lines, compact lists and flow padding stay as written", () => {
    const src = `name: fmt
description: >
  A description folded
  over three lines
  by its author.
trigger:
  webhook: { mode: sync }

steps:
- id: a
  set: { x: 1 }

- id: b   # the second
  set:
    y: =steps.a.x
`;
    const r = edit(src, (doc) => setField(doc, ["steps", 1, "set", "y"], "=steps.a.x + 1"));
    expect(r.text).toBe(src.replace("y: =steps.a.x", "y: =steps.a.x + 1"));
    const r2 = edit(src, (doc) => insertStep(doc, ["steps"], 2, { id: "c", fail: "no" }));
    expect(parse(r2.text).steps.map((s: { id: string }) => s.id)).toEqual(["a", "b", "c"]);
    expect(r2.text.startsWith(src.split("- id: b")[0])).toBe(true); // all before b as written
    expectCommentsKept(src, r2.text);
  });

  test("an edit in closed-won changes only its lines", () => {
    const r = edit(closedWon, (doc) => setField(doc, ["steps", 0, "then", 0, "with", "source_ref"], "=trigger.body.ref"));
    const a = closedWon.split("\n");
    const b = r.text.split("\n");
    expect(b.length).toBe(a.length);
    const changed = a.map((l, i) => (l === b[i] ? null : [l, b[i]])).filter(Boolean);
    expect(changed).toEqual([["        with: {source_ref: =trigger.body.id}", "        with: {source_ref: =trigger.body.ref}"]]);
  });

  test("when the changes overlap the formatting, the Document's text is used, same meaning", () => {
    const src = "name: x\nsteps:\n  - id: a\n    set: {x:    1}  # one\n";
    const r = edit(src, (doc) => setField(doc, ["steps", 0, "set", "x"], 2));
    expect(r.text).toBe("name: x\nsteps:\n  - id: a\n    set: {x: 2} # one\n");
  });
});
