// Renders an operation's JSON Schema as rows of a readable field table:
// one row per property (nested objects and list items flattened into
// dotted paths), with its type, whether it is required, its description,
// enum, default and format.

export interface FieldRow {
  path: string; // "customer.email", "items[].qty"
  depth: number;
  type: string; // "string", "integer", "object", "string[]", "a | b"
  required: boolean;
  description?: string;
  enum?: unknown[];
  default?: unknown;
  format?: string;
}

export type Schema = Record<string, any>;

const maxDepth = 8;
const maxRows = 1000;

/** typeOf names a schema's type for a reader. */
export function typeOf(s: Schema | undefined): string {
  if (!s || typeof s !== "object") return "any";
  if (s.const !== undefined) return JSON.stringify(s.const);
  let t: string;
  if (Array.isArray(s.type)) t = s.type.filter((x: string) => x !== "null").join(" | ") + (s.type.includes("null") ? " (nullable)" : "");
  else if (typeof s.type === "string") t = s.type;
  else if (s.properties) t = "object";
  else if (s.items) t = "array";
  else if (Array.isArray(s.oneOf ?? s.anyOf)) return (s.oneOf ?? s.anyOf).map((x: Schema) => typeOf(x)).join(" | ");
  else if (Array.isArray(s.allOf)) t = "object";
  else if (Array.isArray(s.enum)) t = typeof s.enum[0] === "number" ? "number" : "string";
  else return "any";
  if (t === "array") return typeOf(s.items) + "[]";
  if (s.nullable === true) t += " (nullable)";
  return t;
}

/** fieldRows flattens schema s into table rows. A schema that is not an object yields one row for its whole value. */
export function fieldRows(s: Schema | undefined): FieldRow[] {
  const rows: FieldRow[] = [];
  if (!s || typeof s !== "object") return rows;
  const obj = objectOf(s);
  if (!obj) {
    rows.push(row("(value)", 0, s, false));
    return rows;
  }
  walk(obj, "", 0, rows);
  return rows;
}

function row(path: string, depth: number, s: Schema, required: boolean): FieldRow {
  const r: FieldRow = { path, depth, type: typeOf(s), required };
  if (typeof s.description === "string" && s.description) r.description = s.description;
  else if (typeof s.title === "string" && s.title) r.description = s.title;
  if (Array.isArray(s.enum)) r.enum = s.enum;
  if (s.default !== undefined) r.default = s.default;
  if (typeof s.format === "string") r.format = s.format;
  return r;
}

// objectOf returns the properties and required list of an object schema
// (allOf parts merged), or null when s does not describe an object.
function objectOf(s: Schema): { properties: Record<string, Schema>; required: string[] } | null {
  if (!s || typeof s !== "object") return null;
  let properties: Record<string, Schema> = {};
  let required: string[] = [];
  let found = false;
  if (s.properties && typeof s.properties === "object") {
    properties = { ...s.properties };
    found = true;
  }
  if (Array.isArray(s.required)) required = [...s.required];
  if (Array.isArray(s.allOf)) {
    for (const part of s.allOf) {
      const o = objectOf(part);
      if (o) {
        Object.assign(properties, o.properties);
        required.push(...o.required);
        found = true;
      }
    }
  }
  return found ? { properties, required } : null;
}

function walk(o: { properties: Record<string, Schema>; required: string[] }, prefix: string, depth: number, rows: FieldRow[]) {
  for (const [name, ps] of Object.entries(o.properties)) {
    if (rows.length >= maxRows) return;
    const path = prefix + name;
    rows.push(row(path, depth, ps ?? {}, o.required.includes(name)));
    if (depth + 1 >= maxDepth || !ps) continue;
    const inner = objectOf(ps);
    if (inner) {
      walk(inner, path + ".", depth + 1, rows);
      continue;
    }
    let items: Schema | undefined = ps.items;
    let suffix = "[]";
    while (items && !objectOf(items) && items.items) {
      items = items.items;
      suffix += "[]";
    }
    const io = items ? objectOf(items) : null;
    if (io) walk(io, path + suffix + ".", depth + 1, rows);
  }
}
