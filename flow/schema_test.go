package flow

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

func compiledSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("flow.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("flow.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func yamlToJSONValue(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every flow file shipped in the repository validates against the
// published schema, and the parser accepts it too.
func TestShippedFlowsMatchSchema(t *testing.T) {
	s := compiledSchema(t)
	files, _ := filepath.Glob("../examples/flows/*.yaml")
	more, _ := filepath.Glob("../bench/flows/*.yaml")
	files = append(files, more...)
	if len(files) < 3 {
		t.Fatalf("found only %d flow files", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(yamlToJSONValue(t, src)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if _, err := Load(f, src, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestSchemaRejectsBadFlows(t *testing.T) {
	s := compiledSchema(t)
	for _, src := range []string{
		"name: Bad Name\nsteps: []\n",
		"name: x\nsteps:\n  - cal: http.request\n",
		"name: x\nsteps:\n  - set: {a: 1}\n    call: http.request\n",
		"name: x\ntrigger: {webhook: {}, manual: {}}\nsteps: []\n",
		"name: x\nsteps:\n  - call: http.request\n    retry: {max_attempts: 0}\n",
	} {
		if err := s.Validate(yamlToJSONValue(t, []byte(src))); err == nil {
			t.Errorf("schema accepted:\n%s", src)
		}
	}
}
