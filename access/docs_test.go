package access

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// RoleTable is the roles × permissions table as docs/security.md shows it.
func roleTable() string {
	var b strings.Builder
	b.WriteString("| permission | " + strings.Join(Roles(), " | ") + " |\n")
	b.WriteString("|---" + strings.Repeat("|:-:", len(Roles())) + "|\n")
	for _, p := range Permissions() {
		b.WriteString("| `" + p + "` |")
		for _, r := range Roles() {
			if slices.Contains(RolePermissions(r), p) {
				b.WriteString(" ✓ |")
			} else {
				b.WriteString("   |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// docs/security.md shows the role table the code enforces (rerun with
// WEFT_PRINT_ROLE_TABLE=1 to print it after a change).
func TestSecurityDocShowsTheRoleTable(t *testing.T) {
	want := roleTable()
	if os.Getenv("WEFT_PRINT_ROLE_TABLE") != "" {
		t.Log("\n" + want)
	}
	doc, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), want) {
		t.Errorf("docs/security.md does not contain the role table:\n%s", want)
	}
}
