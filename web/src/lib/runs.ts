// Pure helpers of the runs and dead-letter views: what a replay starts
// from, and how a run's attempts read as a timeline.

export interface RunLike {
  failed_step?: string;
  override?: { step_key: string; input: unknown };
}

export interface AttemptLike {
  step_key: string;
  attempt: number;
  started_at: string;
  input?: unknown;
}

/** failedStepInput is the captured input of the failed step's last attempt (undefined when the capture policy did not keep it). */
export function failedStepInput(run: RunLike, attempts: AttemptLike[]): unknown | undefined {
  if (!run.failed_step) return undefined;
  const mine = attempts.filter((a) => a.step_key === run.failed_step && a.input !== undefined);
  if (mine.length === 0) return run.override?.step_key === run.failed_step ? run.override.input : undefined;
  return mine.reduce((a, b) => (Date.parse(b.started_at) > Date.parse(a.started_at) || (b.started_at === a.started_at && b.attempt > a.attempt) ? b : a)).input;
}

/**
 * replayMarks says, for attempts in time order, which ones began a new
 * execution of their step: a replay runs the failed step again from
 * attempt 1, so an attempt number that does not grow marks it.
 */
export function replayMarks(attempts: AttemptLike[]): boolean[] {
  const last = new Map<string, number>();
  return attempts.map((a) => {
    const prev = last.get(a.step_key);
    last.set(a.step_key, a.attempt);
    return prev !== undefined && a.attempt <= prev;
  });
}

/** nameFromFile suggests a connector name from a document's file name ("Pet Store.v2.yaml" -> "pet_store"). */
export function nameFromFile(file: string): string {
  let n = file
    .replace(/\.(ya?ml|json|xml|edmx|wsdl|graphqls?|gql)$/i, "")
    .replace(/\.v?\d.*$/i, "")
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "");
  n = n.replace(/^[^a-z]+/, "");
  return n.slice(0, 32);
}
