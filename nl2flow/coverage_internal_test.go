package nl2flow

import (
	"strings"
	"testing"
)

func TestSegmentsByStructure(t *testing.T) {
	var got []string
	for _, seg := range segments(tokenize("When a deal is won, create a project and notify #sales unless the amount is under 100 then for each line item email x@y.example")) {
		var ws []string
		for _, t := range seg {
			ws = append(ws, t.raw)
		}
		got = append(got, strings.Join(ws, " "))
	}
	want := []string{"When a deal is won", "create a project", "and notify #sales", "unless the amount is under 100", "then", "for each line item email x@y.example"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("segments\n got %q\nwant %q", got, want)
	}
}
