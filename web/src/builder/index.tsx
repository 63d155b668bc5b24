// The builder view, loaded on demand: its canvas, forms and YAML editor are
// their own chunks, so the console's first load stays small for other views.
import { lazy, Suspense } from "react";
import type { Route } from "../router";

const BuilderPage = lazy(() => import("./page"));

export function BuilderView({ route }: { route: Route }) {
  return (
    <Suspense fallback={<p className="muted">Loading the builder…</p>}>
      <BuilderPage route={route} />
    </Suspense>
  );
}
