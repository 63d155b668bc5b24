// The builder's side panels (Test run, Describe it, Suggest mapping) take
// plain props: the draft's YAML and callbacks. They know nothing of the
// builder's own model, so the builder, the "Try a draft" page, or anything
// else holding a YAML text can host them.

export interface StepResult {
  status: string;
  output?: unknown;
  input?: unknown;
  error?: { code: string; message: string } | null;
  duration_ms?: number;
  attempts?: number;
}

export interface PanelProps {
  /** the draft flow YAML as currently edited */
  source: string;
  /** replace the whole draft (Describe it) */
  onReplaceSource(yaml: string): void;
  /** the step selected on the canvas */
  selectedStepId?: string;
  /** show a test run's results on the nodes (Test run) */
  onStepResults?(results: Record<string, StepResult>): void;
  /** merge keys into a step's with (call) or set (set) map (Suggest mapping) */
  onPatchStep?(stepId: string, key: "with" | "set", value: Record<string, string>): void;
  /** the last test run's results, if the host kept them (Suggest mapping offers
   * a step's recorded output as a sample source) */
  stepResults?: Record<string, StepResult>;
}

/** A validation problem as the API reports it (pos is file:line:col). */
export interface Problem {
  pos?: string;
  path?: string;
  message: string;
}

/** One step of POST /api/flows/test's answer. */
export interface TestStep {
  id: string;
  kind: string;
  path?: string;
  pos?: string;
  /** the step key: the id, an iteration (notify[3]), a subflow prefix (call_sub/x) */
  key?: string;
  /** set when the step belongs to a deployed subflow the draft calls */
  subflow?: string;
  /** call steps: "connection" or "sandbox" */
  target?: string;
  status: "succeeded" | "failed" | "skipped" | string;
  attempts?: number;
  duration_ms?: number;
  input?: unknown;
  output?: unknown;
  error?: { code: string; message: string } | null;
}

/** POST /api/flows/test's answer. */
export interface TestResult {
  status: "succeeded" | "failed" | string;
  duration_ms?: number;
  response?: { status: number; headers?: Record<string, unknown>; body?: unknown } | null;
  error?: { code: string; message: string } | null;
  steps: TestStep[];
}

/** POST /api/flows/test's request. */
export interface TestRequest {
  source: string;
  file?: string;
  input?: { body: unknown; headers?: Record<string, string>; query?: Record<string, string> };
  from_run?: string;
  sandbox: boolean;
}

/** POST /api/nl2flow's answer (nl2flow.Draft). */
export interface Draft {
  name: string;
  yaml: string;
  valid: boolean;
  problems?: Problem[];
  explanation: string[] | null;
  questions: string[] | null;
  not_understood: string[] | null;
  warnings: string[] | null;
  corrections?: string[] | null;
  confidence: number;
  backend: string;
  attempts: number;
}

/** A mapping as POST /api/mappings answers it (mapper.Mapping). */
export interface Mapping {
  id: string;
  name: string;
  items: MappingItem[] | null;
  candidates?: Record<string, { target: string; score: number }[]>;
  unmatched_required?: string[];
  warning?: string;
}

export interface MappingItem {
  target: string;
  sources: string[];
  expr: string;
  confidence: number;
  reason: string;
  status: string;
}
