package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft"
)

// TestIssue16_F22_ErrorAnswersHideConnectionDetails: a server-side error
// whose message carries driver text (DSN pairs, URLs, addresses) is answered
// without it; 503s carry Retry-After; client errors keep their message.
func TestIssue16_F22_ErrorAnswersHideConnectionDetails(t *testing.T) {
	leaky := []string{
		"store: get flow: failed to connect to `user=postgres database=weft_1`: 127.0.0.1:5432 (127.0.0.1): dial error: dial tcp 127.0.0.1:5432: connect: connection refused",
		"cannot reach postgres://weft:secret@db.internal:5432/weft",
		"FATAL: terminating connection due to administrator command (SQLSTATE 57P01)",
		"host=db.internal port=5432 dbname=weft sslmode=disable",
	}
	for _, code := range []string{weft.EInternal, weft.EUnavailable, weft.ETimeout} {
		for _, msg := range leaky {
			w := httptest.NewRecorder()
			writeErr(w, weft.Errorf(code, "%s", msg))
			body := w.Body.String()
			for _, s := range []string{"user=", "5432", "db.internal", "secret", "SQLSTATE", "dial"} {
				if strings.Contains(body, s) {
					t.Errorf("%s answer leaks %q: %s", code, s, body)
				}
			}
			if !strings.Contains(body, `"code":"`+code+`"`) {
				t.Errorf("code lost: %s", body)
			}
			if (w.Code == 503) != (w.Header().Get("Retry-After") != "") {
				t.Errorf("%d with Retry-After %q", w.Code, w.Header().Get("Retry-After"))
			}
		}
	}
	w := httptest.NewRecorder()
	writeErr(w, weft.Errorf(weft.EInvalid, "field user=%s is not allowed", "bob"))
	if !strings.Contains(w.Body.String(), "user=bob") {
		t.Errorf("a client error lost its message: %s", w.Body.String())
	}
}
