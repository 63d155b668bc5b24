import { expect, test } from "vitest";
import { readFileSync } from "./readfile";
import { yamlContext, schemaKeys } from "../src/builder/yamlcomplete";
import { complete, scope, stepsBefore } from "../src/builder/exprcomplete";
import { parseFlow } from "../src/builder/model";
import type { Catalog, JSONSchema } from "../src/builder/catalog";

const schema = JSON.parse(readFileSync("flow/schema.json")) as JSONSchema;

function ctxAt(text: string) {
  const pos = text.indexOf("|");
  return yamlContext(text.replace("|", ""), pos)!;
}

test("yamlContext reads the key path from indentation", () => {
  expect(ctxAt("name: a\ntr|").path).toEqual([]);
  expect(ctxAt("name: a\ntrigger:\n  webhook:\n    mo|").path).toEqual(["trigger", "webhook"]);
  const c = ctxAt("name: a\nsteps:\n  - id: x\n    call: http.request\n    wi|");
  expect(c.path).toEqual(["steps", "-"]);
  expect(c.siblings.sort()).toEqual(["call", "id"]);
  expect(ctxAt("steps:\n  - id: x\n    if: =true\n    then:\n      - id: y\n        se|").path).toEqual(["steps", "-", "then", "-"]);
  expect(ctxAt("steps:\n  - |").path).toEqual(["steps", "-"]);
  expect(ctxAt("steps:\n- id: a\n  set: {}\n- |").path).toEqual(["steps", "-"]);
  expect(ctxAt("steps:\n  - id: x\n    retry:\n      max_attempts: 3\n      ba|").path).toEqual(["steps", "-", "retry"]);
  expect(ctxAt("trigger:\n  webhook:\n    mode: s|").valueOf).toBe("mode");
});

test("schemaKeys offers the schema's keys minus those present", () => {
  const top = schemaKeys(schema, ctxAt("name: a\n|")).map((k) => k.label);
  expect(top).toContain("trigger");
  expect(top).toContain("steps");
  expect(top).not.toContain("name");
  const step = schemaKeys(schema, ctxAt("steps:\n  - id: x\n    call: http.request\n    |")).map((k) => k.label);
  expect(step).toEqual(expect.arrayContaining(["connection", "with", "timeout", "retry", "set", "foreach"]));
  expect(step).not.toContain("id");
  expect(schemaKeys(schema, ctxAt("trigger:\n  schedule:\n    |")).map((k) => k.label).sort()).toEqual(["cron", "missed", "timezone"]);
  expect(schemaKeys(schema, ctxAt("trigger:\n  webhook:\n    mode: |")).map((k) => k.label)).toEqual(["sync", "async"]);
  expect(schemaKeys(schema, ctxAt("steps:\n  - id: x\n    retry:\n      |")).map((k) => k.label).sort()).toEqual(["backoff", "max_attempts", "max_backoff"]);
});

const cat: Catalog = {
  loading: false,
  error: "",
  flows: [],
  connections: [{ name: "chat", connector: "chat", base_url: "http://x" }],
  connectors: [
    {
      name: "chat",
      operations: [{ name: "getChannel", output_schema: { type: "object", properties: { id: { type: "string" }, name: { type: "string" } } } }],
    },
  ],
};

test("expression completion: trigger, earlier steps with their outputs, run, item", () => {
  const p = parseFlow(`name: x
trigger:
  webhook:
    schema: {type: object, properties: {name: {type: string}, items: {type: array}}}
steps:
  - id: greet
    set: {message: =trigger.body.name, n: 3}
  - id: ch
    call: chat.getChannel
  - id: loop
    foreach: =trigger.body.items
    do:
      - id: inner
        set: {a: =item}
  - id: reply
    respond: {body: {}}
`);
  if (!p.ok) throw new Error("parse");
  const g = p.graph;
  const reply = g.steps[3];
  const env = scope(g, reply, cat);
  expect(complete(env, "=tr")!.items.map((i) => i.label)).toEqual(["trigger"]);
  expect(complete(env, "=trigger.body.")!.items.map((i) => [i.label, i.type])).toEqual([["name", "string"], ["items", "array"]]);
  expect(complete(env, "=steps.")!.items.map((i) => i.label)).toEqual(["greet", "ch", "loop", "inner"]);
  expect(complete(env, "='Hi ' + steps.greet.m")!.items.map((i) => i.label)).toEqual(["message"]);
  // an OpenAPI operation's output is the body of an HTTP answer
  expect(complete(env, "=steps.ch.")!.items.map((i) => i.label)).toEqual(["status", "headers", "body"]);
  expect(complete(env, "=steps.ch.body.")!.items.map((i) => i.label)).toEqual(["id", "name"]);
  expect(complete(env, "=run.")!.items.map((i) => i.label)).toEqual(["id", "flow", "version", "started_at"]);
  // steps after this one are not offered; item only inside foreach
  const greetEnv = scope(g, g.steps[0], cat);
  expect(complete(greetEnv, "=steps.")).toBeNull();
  expect(complete(greetEnv, "=it")).toBeNull();
  const inner = g.steps[2].branches[0].steps[0];
  expect(stepsBefore(g, inner).inForeach).toBe(true);
  expect(complete(scope(g, inner, cat), "=it")!.items.map((i) => i.label)).toEqual(["item"]);
  expect(complete(scope(g, inner, cat), "=steps.")!.items.map((i) => i.label)).toEqual(["greet", "ch"]);
});
