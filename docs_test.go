package weft

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// F30 (README part): every relative link in README.md and docs/*.md names a
// file inside the repository (the README once linked ../shared/DESIGN.md,
// which only exists on the author's machine).
func TestIssue16_F30_DocLinksStayInRepository(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("docs/*.md")
	files = append(files, "README.md", "BENCHMARKS.md", "EVALS.md")
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			p := filepath.Clean(filepath.Join(filepath.Dir(f), target))
			abs, _ := filepath.Abs(p)
			if !strings.HasPrefix(abs, root+string(filepath.Separator)) {
				t.Errorf("%s links to %s, outside the repository", f, m[1])
				continue
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s links to %s, which does not exist", f, m[1])
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("only %d relative links found: the link pattern is broken", checked)
	}
}

// No merge-conflict markers in any tracked text file (docs/security.md
// once carried a whole unresolved merge through CI).
func TestNoMergeConflictMarkers(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v (the test runs in a git checkout)", err)
	}
	marker := regexp.MustCompile(`(?m)^(<<<<<<< |>>>>>>> |=======$)`)
	checked := 0
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if strings.HasPrefix(f, "web/dist/") || strings.HasPrefix(f, "third_party/") {
			continue
		}
		switch filepath.Ext(f) {
		case ".go", ".md", ".ts", ".tsx", ".css", ".sql", ".yaml", ".yml", ".json", ".jsonl", ".tsv", ".txt", ".sh", "":
		default:
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			continue // deleted in the work tree
		}
		checked++
		if loc := marker.FindIndex(data); loc != nil {
			line := 1 + strings.Count(string(data[:loc[0]]), "\n")
			t.Errorf("%s:%d: merge-conflict marker %q", f, line, strings.TrimSpace(string(data[loc[0]:loc[1]])))
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d files: is this the repository root?", checked)
	}
}
