// Mounts the three side panels (Test run, Describe it, Suggest mapping) in
// the builder: they take plain props (the draft's YAML and callbacks), so this
// adapts the builder's context to them. A mapping's accepted fields are set
// one by one on the step's `with` or `set` map through the YAML Document, so
// the step's other fields and every comment stay.
import { builderPanels, type BuilderContext } from "./panels";
import { DescribePanel } from "./panels/describe";
import { SuggestMappingPanel } from "./panels/mapping";
import { TestRunPanel } from "./panels/testrun";
import type { PanelProps, StepResult } from "./panels/types";

export function panelProps(ctx: BuilderContext): PanelProps {
  return {
    source: ctx.text,
    onReplaceSource: (yaml) => ctx.setText(yaml),
    selectedStepId: ctx.selected?.id,
    onStepResults: (results: Record<string, StepResult>) => ctx.setResults(results),
    stepResults: ctx.results as Record<string, StepResult> | undefined,
    onPatchStep: (stepId, key, value) => {
      const node = ctx.graph?.all.find((s) => s.id === stepId);
      if (!node) return;
      ctx.apply((doc) => {
        for (const [field, expr] of Object.entries(value)) doc.setIn([...node.path, key, field], expr);
        return true;
      });
    },
  };
}

if (!builderPanels.some((p) => p.id === "test")) {
  builderPanels.push(
    { id: "test", label: "Test run", render: (ctx) => <TestRunPanel {...panelProps(ctx)} /> },
    { id: "describe", label: "Describe it", render: (ctx) => <DescribePanel {...panelProps(ctx)} /> },
    { id: "mapping", label: "Suggest mapping", render: (ctx) => <SuggestMappingPanel {...panelProps(ctx)} /> },
  );
}
