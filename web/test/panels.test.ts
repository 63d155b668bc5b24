import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  acceptedToPatch,
  alternatives,
  buildTestRequest,
  celRef,
  flowInfo,
  itemSchema,
  keepAnswers,
  lineCol,
  mergeAnswers,
  outputRoot,
  patchStepYaml,
  problemsOf,
  resultsById,
  rooted,
  stringMap,
  unrooted,
  upstream,
  type TestForm,
} from "../src/builder/panels/logic";

const orderFlow = `# The order flow
name: order-flow
trigger:
  webhook:
    mode: sync
steps:
  - id: transform
    set:
      id: =trigger.body.order_id
      customer_email: =trigger.body.customer.email
  - id: post
    call: http.request
    connection: local
    with:
      method: POST
      # the orders API
      url: /hooks/orders-api
      body: =steps.transform
  - id: contact
    call: crm.createContact
    connection: crm
    with: {}
  - respond:
      status: 200
`;

const form = (p: Partial<TestForm> = {}): TestForm => ({ mode: "typed", body: "", headers: "", query: "", runId: "", sandbox: false, ...p });

describe("flowInfo", () => {
  it("lists steps in the validator's order with its default ids and paths", () => {
    const f = flowInfo(`name: x
steps:
  - id: a
    if: =true
    then:
      - set: {v: 1}
    else:
      - id: b
        foreach: =[1]
        do:
          - wait: 1s
  - switch:
      - when: =true
        steps:
          - id: c
            call: chat.postMessage
    default:
      - fail: no
`);
    expect(f.name).toBe("x");
    expect(f.steps.map((s) => [s.id, s.kind, s.path])).toEqual([
      ["a", "if", "steps[0]"],
      ["set_2", "set", "steps[0].then[0]"],
      ["b", "foreach", "steps[0].else[0]"],
      ["wait_4", "wait", "steps[0].else[0].do[0]"],
      ["switch_5", "switch", "steps[1]"],
      ["c", "call", "steps[1].switch[0].steps[0]"],
      ["fail_7", "fail", "steps[1].default[0]"],
    ]);
    expect(f.steps[3].ancestors).toEqual(["a", "b"]);
    // Upstream of wait_4: earlier steps, not the if and foreach holding it.
    expect(upstream(f, "wait_4").map((s) => s.id)).toEqual(["set_2"]);
    expect(upstream(f, "c").map((s) => s.id)).toEqual(["a", "set_2", "b", "wait_4"]);
  });
  it("says when the YAML does not parse or is not a flow", () => {
    expect(flowInfo("name: [").error).toMatch(/does not parse/);
    expect(flowInfo("- a").error).toMatch(/not a flow/);
    expect(flowInfo("").error).toMatch(/empty/);
  });
  it("reads the trigger", () => {
    expect(flowInfo(orderFlow).trigger).toEqual({ kind: "webhook", value: { mode: "sync" } });
  });
});

describe("test-run request", () => {
  it("sends a typed body, headers and query", () => {
    const r = buildTestRequest(orderFlow, form({ body: '{"order_id": "A-1"}', headers: "X-Event-Id: 42\nContent-Type: application/json", query: "?a=1&b=two", sandbox: true, file: "draft.yaml" }));
    expect(r).toEqual({
      ok: true,
      value: {
        source: orderFlow,
        file: "draft.yaml",
        sandbox: true,
        input: { body: { order_id: "A-1" }, headers: { "x-event-id": "42", "content-type": "application/json" }, query: { a: "1", b: "two" } },
      },
    });
  });
  it("takes headers and query as JSON objects, and an empty body as {}", () => {
    const r = buildTestRequest(orderFlow, form({ headers: '{"X-A": "1", "n": 2}', query: '{"q": "x"}' }));
    expect(r.ok && r.value.input).toEqual({ body: {}, headers: { "x-a": "1", n: "2" }, query: { q: "x" } });
    const none = buildTestRequest(orderFlow, form());
    expect(none.ok && none.value.input).toEqual({ body: {} });
  });
  it("uses a past run's payload by id, and sends no input then", () => {
    const r = buildTestRequest(orderFlow, form({ mode: "run", runId: "r1", body: "{bad" }));
    expect(r).toEqual({ ok: true, value: { source: orderFlow, sandbox: false, from_run: "r1" } });
    expect(buildTestRequest(orderFlow, form({ mode: "run" }))).toEqual({ ok: false, error: expect.stringMatching(/Pick a past run/) });
  });
  it("refuses bad input with a clear message", () => {
    expect(buildTestRequest(orderFlow, form({ body: "{bad" }))).toEqual({ ok: false, error: expect.stringMatching(/^The body is not valid JSON/) });
    expect(buildTestRequest(orderFlow, form({ headers: "no colon here" }))).toEqual({ ok: false, error: expect.stringMatching(/Headers line 1/) });
    expect(buildTestRequest(orderFlow, form({ headers: "[1]" }))).toEqual({ ok: false, error: expect.stringMatching(/Headers line 1/) });
    expect(stringMap("headers", '{"a": {"b": 1}}')).toEqual({ ok: false, error: expect.stringMatching(/not an object/) });
    expect(buildTestRequest("  ", form())).toEqual({ ok: false, error: expect.stringMatching(/empty/) });
  });
  it("keys step results by id for the canvas", () => {
    const out = resultsById({
      status: "failed",
      steps: [
        { id: "transform", kind: "set", status: "succeeded", duration_ms: 1, attempts: 1, input: null, output: { id: "A" } },
        { id: "post", kind: "call", status: "failed", attempts: 3, error: { code: "unavailable", message: "down" } },
        { id: "n", kind: "set", key: "n[0]", status: "succeeded", output: 1 },
        { id: "n", kind: "set", key: "n[1]", status: "succeeded", output: 2 },
        { id: "transform", kind: "set", key: "sub/transform", subflow: "enrich", status: "failed" },
      ],
    });
    expect(out.transform).toEqual({ status: "succeeded", input: null, output: { id: "A" }, error: null, duration_ms: 1, attempts: 1 });
    expect(out.post.error).toEqual({ code: "unavailable", message: "down" });
    expect(out.n.output).toBe(2);
    expect(Object.keys(out)).toEqual(["transform", "post", "n"]);
  });
});

describe("problems", () => {
  it("shows line:col", () => {
    expect(lineCol("draft.yaml:4:14")).toBe("4:14");
    expect(lineCol("")).toBe("");
    expect(problemsOf({ message: "flow x has 1 problem(s)", problems: [{ pos: "f.yaml:1:2", message: "m" }] })).toEqual([{ pos: "f.yaml:1:2", message: "m" }]);
    expect(problemsOf({ message: "draft.yaml:2:1: did not find expected node content" })).toEqual([{ pos: "draft.yaml:2:1", message: "did not find expected node content" }]);
    expect(problemsOf({ message: "server down" })).toEqual([]);
  });
});

describe("nl2flow answers", () => {
  it("appends answers to the original request in parentheses", () => {
    expect(
      mergeAnswers("post a message to the chat ", [
        { question: "Which chat channel should notify post to? Set channelId.", answer: " #sales " },
        { question: "What should start this flow?", answer: "when a webhook receives an order" },
        { question: "unanswered", answer: "  " },
      ]),
    ).toBe("post a message to the chat (#sales) (when a webhook receives an order)");
  });
  it("keeps parentheses in an answer from closing the aside", () => {
    expect(mergeAnswers("x", [{ question: "q", answer: "ops (the team) list" }])).toBe("x (ops, the team, list)");
  });
  it("keeps earlier answers and takes the newest for a question asked again", () => {
    const a = keepAnswers([], [{ question: "q1", answer: "a" }, { question: "q2", answer: "" }]);
    expect(a).toEqual([{ question: "q1", answer: "a" }]);
    const b = keepAnswers(a, [{ question: "q1", answer: "b" }, { question: "q3", answer: "c" }]);
    expect(b).toEqual([{ question: "q1", answer: "b" }, { question: "q3", answer: "c" }]);
    expect(mergeAnswers("base", b)).toBe("base (b) (c)");
  });
});

describe("mapping to a patch", () => {
  it("roots src at the chosen source", () => {
    expect(rooted('src.customer_name.split(" ")[0]', "steps.transform")).toBe('steps.transform.customer_name.split(" ")[0]');
    expect(rooted("size(src.items) + src2.x + my.src", "trigger.body")).toBe("size(trigger.body.items) + src2.x + my.src");
    expect(unrooted('steps.transform.customer_name.split(" ")[0] + steps.transformer.x', "steps.transform")).toBe('src.customer_name.split(" ")[0] + steps.transformer.x');
    expect(celRef("src", "billing.zip-code")).toBe('src.billing["zip-code"]');
    expect(celRef("src", "lines[].sku")).toBe("it.sku");
    expect(celRef("src", "in.x")).toBe('src["in"].x');
  });
  it("turns accepted rows into with entries with the right path prefix", () => {
    const p = acceptedToPatch(
      [
        { target: "email", sources: ["customer_email"], expr: "src.customer_email" },
        { target: "first_name", sources: ["customer_name"], expr: 'src.customer_name.split(" ")[0]' },
      ],
      "steps.transform",
    );
    expect(p).toEqual({ email: "=steps.transform.customer_email", first_name: '=steps.transform.customer_name.split(" ")[0]' });
  });
  it("reads a call step's body for imported connectors and the whole output for builtin ones", () => {
    expect(outputRoot("crm", "get")).toBe("steps.get.body");
    expect(outputRoot("http", "post")).toBe("steps.post");
    const p = acceptedToPatch([{ target: "account_id", sources: ["id"], expr: "src.id" }], outputRoot("crm", "account"));
    expect(p).toEqual({ account_id: "=steps.account.body.id" });
  });
  it("nests dotted targets into one CEL map and maps arrays", () => {
    const p = acceptedToPatch(
      [
        { target: "billing.city", sources: ["address.city"], expr: "src.address.city" },
        { target: "billing.zip", sources: ["address.postcode"], expr: "src.address.postcode" },
        { target: "lines[].sku", sources: ["items[].code"], expr: "it.code" },
        { target: "lines[].qty", sources: ["items[].quantity"], expr: "int(it.quantity)" },
      ],
      "trigger.body",
    );
    expect(p).toEqual({
      billing: '={"city": trigger.body.address.city, "zip": trigger.body.address.postcode}',
      lines: '=trigger.body.items.map(it, {"qty": int(it.quantity), "sku": it.code})',
    });
  });
  it("turns per-source candidates into per-target alternatives", () => {
    expect(alternatives({ a: [{ target: "x", score: 0.4 }, { target: "y", score: 0.3 }], b: [{ target: "x", score: 0.6 }] })).toEqual({
      x: [{ source: "b", score: 0.6 }, { source: "a", score: 0.4 }],
      y: [{ source: "a", score: 0.3 }],
    });
  });
  it("finds a poll trigger's record schema below the body", () => {
    const out = { type: "object", properties: { data: { type: "array", items: { type: "object", properties: { id: { type: "string" } } } } } };
    expect(itemSchema(out, "body.data")).toEqual({ type: "object", properties: { id: { type: "string" } } });
    expect(itemSchema({ type: "array", items: { type: "object" } })).toEqual({ type: "object" });
  });
});

describe("patching the YAML", () => {
  it("sets keys in a call's with, keeping comments and the rest", () => {
    const out = patchStepYaml(orderFlow, "contact", "with", { email: "=steps.transform.customer_email" });
    expect(out).toContain("# The order flow");
    expect(out).toContain("# the orders API");
    const f = parse(out);
    expect(f.steps[2].with).toEqual({ email: "=steps.transform.customer_email" });
    expect(f.steps[1].with.url).toBe("/hooks/orders-api");
    expect(out).toMatch(/with:\n\s+email: =steps\.transform\.customer_email/);
    // The rest is written back as it was: flow maps unpadded, long lines unfolded.
    const long = "=" + "a".repeat(50) + " + " + "b".repeat(50);
    const src = orderFlow.replace("status: 200", "status: 200\n    retry: {max_attempts: 3}\n    body: {x: " + long + "}");
    const o2 = patchStepYaml(src, "contact", "with", { email: "=x" });
    expect(o2).toContain("retry: {max_attempts: 3}");
    expect(o2).toContain("body: {x: " + long + "}");
  });
  it("replaces and adds keys of a set step, and finds steps by their default id", () => {
    const out = patchStepYaml(orderFlow, "transform", "set", { id: "=trigger.body.id", total: "=1.0" });
    expect(parse(out).steps[0].set).toEqual({ id: "=trigger.body.id", customer_email: "=trigger.body.customer.email", total: "=1.0" });
    const r = patchStepYaml(orderFlow, "respond_4", "with", { a: "b" });
    expect(parse(r).steps[3].with).toEqual({ a: "b" });
  });
  it("says what is wrong", () => {
    expect(() => patchStepYaml(orderFlow, "nope", "with", {})).toThrow(/No step nope/);
    expect(() => patchStepYaml("name: [", "x", "with", {})).toThrow(/does not parse/);
    expect(() => patchStepYaml("steps:\n  - id: a\n    set: 5\n", "a", "set", { x: "1" })).toThrow(/not a map/);
  });
});
