// Problem: an API error as the Access and Audit views show it; a refusal
// (403) becomes a sentence saying what the caller's role lacks and whom to ask.
import type { ApiError } from "../api";
import { explainForbidden } from "../lib/access";
import { ErrorNote } from "./kit";

export function Problem({ err, what, retry }: { err: ApiError; what: string; retry?: () => void }) {
  if (err.status === 403)
    return (
      <div className="error access-forbidden" role="alert">
        <strong>Not allowed.</strong> {explainForbidden(err.message)}
      </div>
    );
  return <ErrorNote err={err} what={what} retry={retry} />;
}
