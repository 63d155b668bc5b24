package gateway_test

import (
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/jsonenc"
)

// TestWebhookBodyLargeRefusesAlike: a body of RawBodyMin or more is kept
// raw only when it would have decoded, and is refused as invalid, as a
// decoded body is, for bad UTF-8, too deep nesting, a number out of
// float64's range or bad syntax.
func TestWebhookBodyLargeRefusesAlike(t *testing.T) {
	pad := `"pad":"` + strings.Repeat("x", gateway.RawBodyMin) + `"`
	ok, err := gateway.WebhookBody([]byte(`{` + pad + `,"n":1}`))
	if _, isRaw := ok.(*jsonenc.Raw); err != nil || !isRaw {
		t.Fatalf("a large valid body: %T, %v", ok, err)
	}
	small, err := gateway.WebhookBody([]byte(`{"n":1}`))
	if _, isMap := small.(map[string]any); err != nil || !isMap {
		t.Fatalf("a small body: %T, %v", small, err)
	}
	for name, doc := range map[string]string{
		"bad UTF-8":   `{` + pad + `,"s":"` + "\xff" + `"}`,
		"too deep":    `{` + pad + `,"d":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
		"huge number": `{` + pad + `,"n":1e400}`,
		"syntax":      `{` + pad + `,"n":}`,
	} {
		v, err := gateway.WebhookBody([]byte(doc))
		if err == nil || weft.Code(err) != weft.EInvalid {
			t.Errorf("%s: got %T, %v; want an invalid error", name, v, err)
		}
	}
}
