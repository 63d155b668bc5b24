// What a palette item inserts: a new step of a kind, a call of an operation
// (a connection of its connector preselected, its required input fields), or
// a trigger's default settings.
import { freshId } from "./edits";
import type { Graph, StepKind, TriggerKind } from "./model";
import { findOp, sampleInput, type Catalog } from "./catalog";

export const KIND_INFO: Record<StepKind, string> = {
  call: "call an operation of a connector",
  set: "compute values (key = expression)",
  if: "branch on a condition",
  switch: "first matching case runs",
  foreach: "repeat steps for each item",
  wait: "pause for a duration or until a time",
  respond: "answer a sync webhook",
  fail: "end the run as failed",
  subflow: "run another flow",
};

export const TRIGGER_INFO: Record<TriggerKind, string> = {
  webhook: "POST /hooks/<flow>",
  schedule: "cron, in a time zone",
  manual: "run by hand or through the API",
  poll: "poll a list operation for new records",
};

export function triggerDefaults(kind: TriggerKind): Record<string, unknown> {
  switch (kind) {
    case "webhook":
      return { mode: "sync" };
    case "schedule":
      return { cron: "0 9 * * 1-5", timezone: "UTC" };
    case "poll":
      return { operation: "", every: "1m" };
  }
  return {};
}

export function newStep(kind: StepKind, g: Graph): Record<string, unknown> {
  const id = freshId(g, kind === "if" ? "check" : kind === "foreach" ? "each" : kind);
  switch (kind) {
    case "call":
      return { id, call: "http.request", with: { method: "GET", url: "/" } };
    case "set":
      return { id, set: {} };
    case "if":
      return { id, if: "=true", then: [] };
    case "switch":
      return { id, switch: [{ when: "=true", steps: [] }], default: [] };
    case "foreach":
      return { id, foreach: "=trigger.body.items", do: [] };
    case "wait":
      return { id, wait: "1m" };
    case "respond":
      return { id, respond: { status: 200, body: {} } };
    case "fail":
      return { id, fail: { message: "failed", code: "failed" } };
    case "subflow":
      return { id, subflow: "" };
  }
}

export function newCall(op: string, g: Graph, cat: Catalog): Record<string, unknown> {
  const f = findOp(cat, op);
  const name = op.slice(op.indexOf(".") + 1);
  const step: Record<string, unknown> = { id: freshId(g, name), call: op };
  const conn = f ? cat.connections.find((c) => c.connector === f.connector.name) : undefined;
  if (conn) step.connection = conn.name;
  const input = sampleInput(f?.op.input_schema);
  if (Object.keys(input).length) step.with = input;
  return step;
}
