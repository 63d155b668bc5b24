package mapper

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestVocabularyReadOnFirstUse: importing the package reads no word list
// (reading it builds the ai lexicon, which a server that never maps need
// not hold); the first use does. Run in a child process, where no other
// test has used the mapper yet.
func TestVocabularyReadOnFirstUse(t *testing.T) {
	if os.Getenv("WEFT_MAPPER_VOCAB_CHILD") == "1" {
		if vocLoaded.Load() {
			t.Fatal("words.json was read before its first use")
		}
		if !strongKind("email") && !vocab().container["properties"] {
			t.Fatal("words.json's lists did not load on first use")
		}
		if !vocLoaded.Load() {
			t.Fatal("vocLoaded not set by the first use")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestVocabularyReadOnFirstUse$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WEFT_MAPPER_VOCAB_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestVocabFiles(t *testing.T) {
	if _, vocErr := loadVocabulary(); vocErr != nil || parErr != nil {
		t.Fatalf("words: %v; params: %v", vocErr, parErr)
	}
	if !strings.HasPrefix(VocabVersion(), "mapper-words-") || !strings.Contains(VocabVersion(), "+mapper-params-") {
		t.Errorf("version %q", VocabVersion())
	}
	if FirstThreshold != par.Suggest.FirstThreshold || FirstThreshold <= 0 {
		t.Errorf("first threshold %v", FirstThreshold)
	}
	if !vocab().container["properties"] || !vocab().party["customer"] || classLabel("email") == "" {
		t.Error("words.json's lists did not load")
	}
}

// params.json with one change made by edit (a JSON object in, out).
func editParams(t *testing.T, edit func(map[string]map[string]any)) []byte {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal(paramsJSON, &raw); err != nil {
		t.Fatal(err)
	}
	secs := map[string]map[string]any{}
	for k, v := range raw {
		if m, ok := v.(map[string]any); ok {
			secs[k] = m
		}
	}
	edit(secs)
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseParamsRejects(t *testing.T) {
	if _, err := parseParams(editParams(t, func(map[string]map[string]any) {})); err != nil {
		t.Fatalf("the file as it is: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(map[string]map[string]any)
		want string
	}{
		"missing number":  {func(s map[string]map[string]any) { delete(s["blend"], "name") }, "blend.name missing"},
		"missing note":    {func(s map[string]map[string]any) { delete(s["rules"], "note") }, "rules.note missing"},
		"empty note":      {func(s map[string]map[string]any) { s["types"]["note"] = " " }, "types needs a note"},
		"out of range":    {func(s map[string]map[string]any) { s["structure"]["gain"] = 1.5 }, "structure.gain is 1.5"},
		"zero":            {func(s map[string]map[string]any) { s["memory"]["accept"] = 0 }, "memory.accept is 0"},
		"unknown key":     {func(s map[string]map[string]any) { s["blend"]["extra_weight"] = 0.1 }, "unknown field"},
		"missing section": {func(s map[string]map[string]any) { clear(s["reason"]) }, "reason.note missing"},
	} {
		_, err := parseParams(editParams(t, tc.edit))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
	}
	if _, err := parseParams([]byte(`{"version": "x", "source": "y"}`)); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("no sections: %v", err)
	}
	if _, err := parseParams([]byte(strings.Repeat(" ", 1<<20+1))); err == nil {
		t.Error("a 1 MiB file was read")
	}
}

func TestParseVocabularyRejects(t *testing.T) {
	var f map[string]any
	if err := json.Unmarshal(wordsJSON, &f); err != nil {
		t.Fatal(err)
	}
	lists := f["lists"].(map[string]any)
	for name, tc := range map[string]struct {
		edit func()
		want string
	}{
		"missing list": {func() { delete(lists, "party") }, `list "party" missing`},
		"unread list":  {func() { lists["zzz"] = map[string]any{"note": "n", "words": []any{"a"}} }, "read by no code"},
		"upper case":   {func() { lists["party"].(map[string]any)["words"] = []any{"Customer"} }, "not a lower-case word"},
		"no note":      {func() { lists["party"].(map[string]any)["note"] = "" }, "needs a note"},
	} {
		var saved []byte
		saved, _ = json.Marshal(f)
		tc.edit()
		b, _ := json.Marshal(f)
		_, err := parseVocabulary(b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, tc.want)
		}
		if err := json.Unmarshal(saved, &f); err != nil {
			t.Fatal(err)
		}
		lists = f["lists"].(map[string]any)
	}
	if _, err := parseVocabulary(wordsJSON, "nope"); err == nil || !strings.Contains(err.Error(), "no list") {
		t.Errorf("leaving out a list that is not there: %v", err)
	}
	v, err := parseVocabulary(wordsJSON, "party")
	if err != nil || len(v.party) != 0 || len(v.container) == 0 {
		t.Errorf("leaving out party: %v, %d party words, %d containers", err, len(v.party), len(v.container))
	}
}
