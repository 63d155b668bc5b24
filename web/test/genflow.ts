// genFlow writes a flow of about n steps (every kind, nested if/switch/foreach
// every tenth step) for the size tests and the layout measurements.
export function genFlow(n: number, name = `big-${n}`): string {
  const out = [`# a generated flow of ${n} steps`, `name: ${name}`, "trigger:", "  webhook: {mode: sync}", "steps:"];
  let made = 0;
  let k = 0;
  const leaf = (ind: string) => {
    k++;
    made++;
    switch (k % 4) {
      case 0:
        out.push(`${ind}- id: s${k}  # a set step`, `${ind}  set:`, `${ind}    v: =trigger.body.a + ${k}`);
        break;
      case 1:
        out.push(`${ind}- id: s${k}`, `${ind}  call: http.request`, `${ind}  connection: local`, `${ind}  with: {method: GET, url: /healthz}`);
        break;
      case 2:
        out.push(`${ind}- id: s${k}`, `${ind}  wait: 1s`);
        break;
      default:
        out.push(`${ind}- id: s${k}`, `${ind}  set: {x: =run.id}`);
    }
  };
  while (made < n) {
    if (made % 10 === 9 && made + 5 <= n) {
      k++;
      made++;
      const shape = k % 3;
      if (shape === 0) {
        out.push(`  - id: s${k}`, "    if: =trigger.body.a > 1", "    then:");
        leaf("      ");
        leaf("      ");
        out.push("    else:");
        leaf("      ");
      } else if (shape === 1) {
        out.push(`  - id: s${k}`, "    foreach: =trigger.body.items", "    do:");
        leaf("      ");
        leaf("      ");
        leaf("      ");
      } else {
        out.push(`  - id: s${k}`, "    switch:", "      - when: =trigger.body.a == 1", "        steps:");
        leaf("          ");
        out.push("      - when: =trigger.body.a == 2", "        steps:");
        leaf("          ");
        out.push("    default:");
        leaf("      ");
      }
    } else leaf("  ");
  }
  out.push("  - id: done", "    respond: {status: 200, body: {ok: true}}");
  return out.join("\n") + "\n";
}
