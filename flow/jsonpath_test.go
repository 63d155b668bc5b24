package flow

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestRedactPathsParsedAndApplied(t *testing.T) {
	doc := `{"customer":{"email":"a@b.c","name":"Ann"},"items":[{"card":"4111","qty":1},{"card":"5500","qty":2}],
		"deep":{"x":[{"ssn":"123"},{"y":{"ssn":{"n":"456"}}}]},"odd key":"v","ssn":"789"}`
	for _, c := range []struct{ path, want string }{
		{"$.customer.email", `"customer":{"email":"[redacted]","name":"Ann"}`},
		{"$.items[*].card", `"items":[{"card":"[redacted]","qty":1},{"card":"[redacted]","qty":2}]`},
		{"$.items[1].card", `"items":[{"card":"4111","qty":1},{"card":"[redacted]","qty":2}]`},
		{"$..ssn", `"deep":{"x":[{"ssn":"[redacted]"},{"y":{"ssn":"[redacted]"}}]}`},
		{"$['odd key']", `"odd key":"[redacted]"`},
		{"$.*.email", `"customer":{"email":"[redacted]","name":"Ann"}`},
		{"$.nope.email", `"customer":{"email":"a@b.c","name":"Ann"}`},
		{"$.items[9].card", `{"card":"4111","qty":1},{"card":"5500","qty":2}`},
	} {
		p, err := ParseJSONPath(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(p.Redact(v))
		if !strings.Contains(string(out), c.want) {
			t.Errorf("%s: %s\nwant it to contain %s", c.path, out, c.want)
		}
	}
	// $..ssn reaches the top level too.
	p, _ := ParseJSONPath("$..ssn")
	var v any
	_ = json.Unmarshal([]byte(doc), &v)
	if out, _ := json.Marshal(p.Redact(v)); !strings.Contains(string(out), `"ssn":"[redacted]"}`) || strings.Contains(string(out), "789") {
		t.Errorf("top-level ssn: %s", out)
	}
}

func TestRedactPathErrors(t *testing.T) {
	long := "$" + strings.Repeat(".a", 130)
	deep := "$" + strings.Repeat(".a", MaxPathDepth+1)
	for _, c := range []struct{ path, want string }{
		{"customer.email", "starts with $"},
		{"$", "whole payload"},
		{"$.", "at character 3: after . comes a member name"},
		{"$.a[", "at character 4: [ is not closed"},
		{"$.a[-1]", "is not an index"},
		{"$.a[?(@.x)]", "filters and slices are not supported"},
		{"$.a[1:3]", "filters and slices are not supported"},
		{"$..", "after .. comes a member name"},
		{"$.a b", "unexpected ' '"},
		{"$['']", "quoted member name"},
		{long, "the limit is 256"},
		{deep, "more than 16 segments"},
	} {
		_, err := ParseJSONPath(c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.path, err, c.want)
		}
	}
}

func TestRedactKeyValidatedWithPositions(t *testing.T) {
	base := "name: f\ntrigger: {webhook: {mode: sync}}\n%s\nsteps:\n  - id: a\n    set: {x: 1}\n"
	for _, c := range []struct{ key, want string }{
		{`redact: ["$.customer.email", "$.items[", iban]`, `f.yaml:3:30: redact entry "$.items[": at character 8: [ is not closed`},
		{"redact:\n  - $.ok\n  - $..", `f.yaml:5:5: redact entry "$..": at character 4: after .. comes a member name`},
		{`redact: "$.a"`, "f.yaml:3:9: redact must be a list"},
		{`redact: [""]`, `f.yaml:3:10: redact entry "": a field name`},
		{`redact: [{a: 1}]`, "f.yaml:3:10: redact entry must be a string"},
		{"redact_dlq: maybe", "f.yaml:3:13: redact_dlq must be true or false"},
		{"redact: [" + strings.Repeat("a, ", MaxRedactEntries) + "a]", "redact has 65 entries; the limit is 64"},
	} {
		_, err := Parse("f.yaml", []byte(fmt.Sprintf(base, c.key)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.key, err, c.want)
		}
	}
	f, err := Parse("f.yaml", []byte(fmt.Sprintf(base, "redact: [iban, \"$.customer.email\", \"$..ssn\"]\nredact_dlq: true")))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Redact) != 3 || len(f.RedactPaths) != 2 || f.RedactPaths[1].String() != "$..ssn" || !f.RedactDLQ {
		t.Fatalf("%+v %+v %v", f.Redact, f.RedactPaths, f.RedactDLQ)
	}
}
