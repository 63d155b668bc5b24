// The builder view, loaded on demand: its canvas, forms and YAML editor are
// their own chunks, so the console's first load stays small for other views.
// The chunk is imported by hand rather than with React.lazy: a Suspense
// boundary holds its content back (React throttles the reveal by 300 ms),
// which is a third of the budget for opening a flow.
import { useEffect, useState } from "react";
import type { Route } from "../router";
import { prefetchFlow } from "./prefetch";

type PageModule = typeof import("./page");

let mod: PageModule | null = null;
let pending: Promise<PageModule> | null = null;

function load(): Promise<PageModule> {
  pending ??= import("./page").then(
    (m) => (mod = m),
    (e) => {
      pending = null;
      throw e;
    },
  );
  return pending;
}

// Opening the console on the builder (its default view): start at once.
if (/^(#\/?)?$|^#\/builder(\/|$|\?)/.test(location.hash)) {
  load().catch(() => {});
  const m = /^#\/builder\/([^/?]+)/.exec(location.hash);
  if (m) prefetchFlow(decodeURIComponent(m[1]));
}

export function BuilderView({ route }: { route: Route }) {
  if (route.parts[1]) prefetchFlow(route.parts[1]);
  const [m, setM] = useState<PageModule | null>(mod);
  const [err, setErr] = useState("");
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (m) return;
    let live = true;
    load().then(
      (x) => live && setM(x),
      (e: Error) => live && setErr(e.message),
    );
    return () => {
      live = false;
    };
  }, [m, attempt]);
  if (err)
    return (
      <div className="builder-msg">
        <p className="error" role="alert">
          The builder could not be loaded ({err}). Is the Weft server reachable?
        </p>
        <button
          type="button"
          onClick={() => {
            setErr("");
            setAttempt((n) => n + 1);
          }}
        >
          Try again
        </button>
      </div>
    );
  if (!m) return <p className="muted builder-msg">Loading the builder…</p>;
  const Page = m.default;
  return <Page route={route} />;
}
