package flow

import (
	"strings"
	"testing"
)

func TestPlacementParsesAndMatches(t *testing.T) {
	src := "name: p\nplacement: {site: plant-3, labels: {region: eu}}\nsteps:\n  - {id: a, set: {x: 1}}\n"
	f, err := Parse("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	pl := f.Placement
	if pl == nil || pl.Site != "plant-3" || pl.Labels["region"] != "eu" {
		t.Fatalf("placement %+v", pl)
	}
	cases := []struct {
		site   string
		labels map[string]string
		want   bool
	}{
		{"plant-3", map[string]string{"region": "eu", "tier": "a"}, true},
		{"plant-3", map[string]string{"region": "us"}, false},
		{"plant-3", nil, false},
		{"plant-4", map[string]string{"region": "eu"}, false},
		{"", map[string]string{"region": "eu"}, false}, // the control plane runs no placed flow
	}
	for _, c := range cases {
		if got := pl.Matches(c.site, c.labels); got != c.want {
			t.Errorf("Matches(%q, %v) = %v, want %v", c.site, c.labels, got, c.want)
		}
	}
	sel := &Placement{Labels: map[string]string{"region": "eu"}}
	if !sel.Matches("any-site", map[string]string{"region": "eu"}) || sel.Matches("any-site", nil) {
		t.Error("a label selector matches by labels alone")
	}
	if got := pl.String(); got != "site=plant-3,region=eu" {
		t.Errorf("String() = %q", got)
	}
	var none *Placement
	if !none.Matches("", nil) {
		t.Error("no placement runs anywhere")
	}
}

func TestPlacementRefusesBadInput(t *testing.T) {
	for _, c := range []struct{ placement, want string }{
		{"{}", "placement needs a site"},
		{"{site: Plant_3}", "placement.site \"Plant_3\""},
		{"{site: a, zone: b}", "unknown field \"zone\""},
		{"{labels: [a]}", "placement.labels must be a mapping"},
		{"{labels: {Region: eu}}", "placement label Region=eu"},
		{"plant-3", "placement must be a mapping"},
	} {
		src := "name: p\nplacement: " + c.placement + "\nsteps:\n  - {id: a, set: {x: 1}}\n"
		_, err := Parse("p.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("placement %s: got %v, want an error containing %q", c.placement, err, c.want)
		}
	}
	var b strings.Builder
	for i := 0; i <= MaxPlacementLabels; i++ {
		b.WriteString("k" + string(rune('a'+i)) + ": v, ")
	}
	src := "name: p\nplacement: {labels: {" + b.String() + "}}\nsteps:\n  - {id: a, set: {x: 1}}\n"
	if _, err := Parse("p.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "the limit is 16") {
		t.Errorf("too many labels: %v", err)
	}
}
