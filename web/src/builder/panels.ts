// The builder's right-side panels. "Settings" is built in; others (test run,
// describe it, suggest mapping) register here and get the BuilderContext:
//
//   builderPanels.push({ id: "test", label: "Test run", render: (ctx) => <TestRunPanel ctx={ctx} /> });
import type { ReactNode } from "react";
import type { Document } from "yaml";
import type { StepResult } from "./canvas";
import type { Catalog } from "./catalog";
import type { Graph, Path, StepNode } from "./model";
import type { Problem } from "./problems";

export interface BuilderContext {
  /** the flow's name as the YAML says it ("" when unset) */
  flowName: string;
  /** the draft's YAML now */
  text: string;
  /** replace the whole draft (e.g. a drafted flow from NL-to-flow); kept as a draft, not deployed */
  setText(text: string): void;
  /** the graph of the last YAML that parsed (null before any) */
  graph: Graph | null;
  /** the YAML does not parse now (edits through apply are refused) */
  parseError: { line: number; col: number; message: string } | null;
  selected: StepNode | null;
  select(key: string | null): void;
  /** edit the YAML Document (comments kept); returns fn's result, or undefined if refused */
  apply<T>(fn: (doc: Document, g: Graph) => T): T | undefined;
  /** set (or with undefined remove) one value at a YAML path */
  setField(path: Path, value: unknown): void;
  /** show a test run's results on the nodes (per step id); undefined clears them */
  setResults(results: Record<string, StepResult> | undefined): void;
  results: Record<string, StepResult> | undefined;
  /** the validator's problems for this text */
  problems: Problem[];
  catalog: Catalog;
}

export interface BuilderPanel {
  id: string;
  label: string;
  render(ctx: BuilderContext): ReactNode;
}

/** builderPanels are the tabs after Settings, in order. */
export const builderPanels: BuilderPanel[] = [];
