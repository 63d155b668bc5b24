// Issue 25 in the console: an OData $metadata document, a WSDL and a
// GraphQL schema, each a real public document kept in the repository,
// uploaded through the connectors page's import form as a user would; each
// becomes a connector whose operations and their documented inputs the
// console shows.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { test, expect, shot, root } from "./fixtures";

const docs = [
  {
    file: "connectors/odata/testdata/real/odatademo_v2.edmx",
    mime: "application/xml",
    name: "odatademo_v2",
    kind: "odata-v2",
    imported: "Imported 21 operations into connector",
    op: "get_Products",
    field: "expand",
  },
  {
    file: "examples/wsdl/cxf/addNumbers.wsdl",
    mime: "application/xml",
    name: "addnumbers",
    kind: "wsdl-1.1",
    imported: "Imported 1 operation into connector",
    op: "addNumbers",
    field: "arg0",
  },
  {
    file: "connectors/graphql/testdata/swapi/schema.graphql",
    mime: "text/plain",
    name: "schema",
    kind: "graphql-sdl",
    imported: "Imported 13 operations into connector",
    op: "film",
    field: "filmID",
  },
];

for (const d of docs) {
  test(`connectors: importing ${d.kind} (${d.file.split("/").pop()}) by upload`, async ({ page, weft, recorder }) => {
    await page.goto(weft.url + "/#/connectors");
    const base = d.file.split("/").pop()!;
    await page.getByLabel("Document").setInputFiles({ name: base, mimeType: d.mime, buffer: readFileSync(resolve(root, d.file)) });
    await expect(page.getByLabel("Connector name")).toHaveValue(d.name);
    await page.getByRole("button", { name: "Import" }).click();
    const res = page.getByRole("status", { name: "Import result" });
    await expect(res).toContainText(d.imported + " " + d.name);
    await expect(res).toContainText("(" + d.kind + ")");
    await shot(page, "imports-" + d.kind);
    await res.getByRole("link", { name: d.name }).click();
    await page.getByText(d.name + "." + d.op, { exact: true }).click();
    await expect(page.getByRole("table", { name: "Input of " + d.op })).toContainText(d.field);
    // It is in the catalog's search too.
    await page.goto(weft.url + "/#/connectors");
    await page.getByLabel("Search operations").fill(d.op);
    await expect(page.getByRole("link", { name: d.name + "." + d.op, exact: true })).toBeVisible();
    expect(recorder.problems).toEqual([]);
  });
}
