// Drafts: the builder keeps the YAML being edited in localStorage, one per
// flow ("new" for a flow not deployed yet), so a reload, a crash or a server
// that went away never loses an edit. A deploy clears it.
export interface Draft {
  text: string;
  saved_at: number; // ms since the epoch
  /** the deployed version the draft started from (0: none) */
  base_version: number;
}

const PREFIX = "weft.builder.draft.";

export function draftKey(flow: string | undefined): string {
  return PREFIX + (flow || "new");
}

export function loadDraft(flow: string | undefined): Draft | null {
  try {
    const raw = localStorage.getItem(draftKey(flow));
    if (!raw) return null;
    const d = JSON.parse(raw) as Draft;
    return typeof d.text === "string" ? d : null;
  } catch {
    return null;
  }
}

/** saveDraft stores the draft; false when the browser refuses (quota, private mode). */
export function saveDraft(flow: string | undefined, text: string, baseVersion: number): boolean {
  try {
    localStorage.setItem(draftKey(flow), JSON.stringify({ text, saved_at: Date.now(), base_version: baseVersion } satisfies Draft));
    return true;
  } catch {
    return false;
  }
}

export function clearDraft(flow: string | undefined) {
  try {
    localStorage.removeItem(draftKey(flow));
  } catch {
    /* nothing to clear */
  }
}

export function hhmm(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}
