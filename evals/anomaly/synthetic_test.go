package main

import (
	"math"
	"strings"
	"testing"
)

// The generated set is the size the issue asks for, deterministic, and
// its windows sit on the anomalies: a labelled outage drops runs to zero
// inside its window and nowhere else near it.
func TestSyntheticSet(t *testing.T) {
	a, b := synthetic(), synthetic()
	if len(a) < 30 {
		t.Fatalf("%d series", len(a))
	}
	labelled := 0
	for i := range a {
		if a[i].name != b[i].name || len(a[i].pts) != len(b[i].pts) || a[i].pts[100].V != b[i].pts[100].V {
			t.Fatal("not deterministic")
		}
		if len(a[i].windows) > 0 {
			labelled++
		}
		for _, p := range a[i].pts {
			if math.IsNaN(p.V) || p.V < 0 {
				t.Fatalf("%s: bad value %v", a[i].name, p.V)
			}
		}
		if strings.Contains(a[i].name, "outage") {
			w := a[i].windows[0]
			mid := (w[0] + w[1]) / 2 // the outage starts at the window's centre
			zeros := 0
			for _, p := range a[i].pts[mid : mid+40] {
				if p.V == 0 {
					zeros++
				}
			}
			if zeros < 35 {
				t.Fatalf("%s: %d zero minutes at the labelled outage", a[i].name, zeros)
			}
		}
	}
	if labelled < 20 || labelled == len(a) {
		t.Fatalf("%d of %d labelled: want anomalies and normal series", labelled, len(a))
	}
}
