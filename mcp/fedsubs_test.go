package mcp

import "testing"

func TestFedTemplateURI(t *testing.T) {
	for in, want := range map[string]string{
		"demo://resource/dynamic/text/{resourceId}": "weft://mcp/ev/resource?uri=demo%3A%2F%2Fresource%2Fdynamic%2Ftext%2F{resourceId}",
		"file:///{+path}":            "weft://mcp/ev/resource?uri=file%3A%2F%2F%2F{path}",
		"db://{schema}/{table} rows": "weft://mcp/ev/resource?uri=db%3A%2F%2F{schema}%2F{table}+rows",
		"search://q{?query}":         "",
		"x://{/a}":                   "",
		"x://{unclosed":              "",
	} {
		got, ok := fedTemplateURI("ev", in)
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q %v, want %q", in, got, ok, want)
		}
	}
	for in, want := range map[string][2]string{
		"weft://mcp/ev/resource?uri=demo%3A%2F%2Fx": {"ev", "demo://x"},
		"weft://mcp/ev/resources":                   {"", ""},
		"weft://flows/x":                            {"", ""},
		"weft://mcp/ev/resource":                    {"", ""},
	} {
		c, u, ok := parseFedURI(in)
		if c != want[0] || u != want[1] || ok != (want[0] != "") {
			t.Errorf("%q: %q %q %v", in, c, u, ok)
		}
	}
}
