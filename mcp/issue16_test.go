package mcp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/mcp"
)

// F19: an upstream error is temporary or permanent by its status, whatever
// class a connector gave it: 408, 425, 429 and 5xx may succeed later; any
// other 4xx never will, and the tool error must not say "temporary".
func TestIssue16_F19_UpstreamStatusDecidesTemporary(t *testing.T) {
	for _, c := range []struct {
		status int
		class  string
	}{
		{400, connectors.Permanent}, {401, connectors.Permanent}, {403, connectors.Permanent}, {404, connectors.Permanent},
		{405, connectors.Permanent}, {409, connectors.Permanent}, {410, connectors.Permanent}, {422, connectors.Permanent},
		{408, connectors.Retryable}, {425, connectors.Retryable}, {429, connectors.Retryable},
		{500, connectors.Retryable}, {502, connectors.Retryable}, {503, connectors.Retryable}, {504, connectors.Retryable},
	} {
		// Whatever class the connector chose, the status decides.
		for _, given := range []string{connectors.Retryable, connectors.Permanent} {
			err := &connectors.Error{Class: given, Status: c.status, Message: fmt.Sprintf("upstream returned %d", c.status)}
			if got, _ := connectors.Classify(err); got != c.class {
				t.Errorf("%d (given %s): class %s, want %s", c.status, given, got, c.class)
			}
			text := mcp.ToolErrorTextForTest(err)
			temporary := strings.Contains(text, "temporary")
			if temporary != (c.class == connectors.Retryable) {
				t.Errorf("%d (given %s): tool error %q", c.status, given, text)
			}
		}
	}
	// Without a status the connector's class stands.
	if got, _ := connectors.Classify(&connectors.Error{Class: connectors.Permanent, Message: "bad url"}); got != connectors.Permanent {
		t.Errorf("no status: %s", got)
	}
}
