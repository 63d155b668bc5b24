package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/flow"
)

// FuzzWebhookSignature feeds verifySignature arbitrary secrets, bodies,
// signature and timestamp headers. Invariants: no panic; a refusal is an
// unauthorized weft error; nothing is accepted with an empty secret, with
// a repeated header, with a timestamp outside the window, or unless the
// header holds exactly the MAC of the signed payload under the secret; and
// a correctly signed request is accepted (the round trip).
func FuzzWebhookSignature(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	mac := func(key, msg string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(msg))
		return hex.EncodeToString(m.Sum(nil))
	}
	body := `{"event_id":"e-1"}`
	ts := strconv.FormatInt(now.Unix(), 10)
	// The reproductions: an empty key, a replay, two headers.
	f.Add("", body, "sha256="+mac("", body), "", "", false, false)
	f.Add("s3cret", body, "sha256="+mac("s3cret", body), "", "", true, false)
	f.Add("s3cret", body, "sha256="+mac("s3cret", ts+"."+body), ts, "X-Weft-Timestamp", false, false)
	f.Add("s3cret", body, "sha256="+mac("s3cret", "1700000000."+body), "1700000000", "X-Weft-Timestamp", false, false)
	f.Add("s3cret", body, "sha256="+mac("s3cret", ts+"."+body), ts, "X-Weft-Timestamp", false, true)
	f.Add("k", "", "SHA256="+mac("k", ""), "", "", false, false)
	f.Add("k", "x", "sha256=zz", "-1", "Ts", false, false)
	f.Fuzz(func(t *testing.T, secret, raw, sigHeader, stamp, tsHeader string, dupSig, dupTS bool) {
		sig := &flow.Signature{Secret: "hook", Timestamp: tsHeader}
		h := http.Header{}
		h.Add("X-Weft-Signature", sigHeader)
		if dupSig {
			h.Add("X-Weft-Signature", sigHeader)
		}
		if tsHeader != "" && http.CanonicalHeaderKey(tsHeader) != "X-Weft-Signature" {
			h.Add(tsHeader, stamp)
			if dupTS {
				h.Add(tsHeader, stamp)
			}
		}
		err := verifySignature(sig, secret, h, []byte(raw), now)
		if err != nil {
			if weft.Code(err) != weft.EUnauthorized {
				t.Fatalf("refusal with code %q: %v", weft.Code(err), err)
			}
		} else {
			if secret == "" {
				t.Fatal("accepted with an empty secret")
			}
			if dupSig || len(h.Values("X-Weft-Signature")) != 1 {
				t.Fatal("accepted with the signature header repeated")
			}
			payload := raw
			if tsHeader != "" {
				if len(h.Values(tsHeader)) != 1 {
					t.Fatal("accepted with the timestamp header repeated")
				}
				sec, perr := strconv.ParseInt(strings.TrimSpace(stamp), 10, 64)
				if perr != nil {
					t.Fatalf("accepted a timestamp that is not a number: %q", stamp)
				}
				if d := now.Sub(time.Unix(sec, 0)); d > flow.DefaultSignatureTolerance || d < -flow.DefaultSignatureTolerance {
					t.Fatalf("accepted a timestamp %v away", d)
				}
				payload = strings.TrimSpace(stamp) + "." + raw
			}
			got := strings.TrimSpace(sigHeader)
			if len(got) > 7 && strings.EqualFold(got[:7], "sha256=") {
				got = got[7:]
			}
			if !strings.EqualFold(got, mac(secret, payload)) {
				t.Fatalf("accepted a wrong MAC %q", sigHeader)
			}
		}
		// Round trip: the right MAC, sent once, with a fresh timestamp, is accepted.
		if secret != "" {
			good := http.Header{}
			payload := raw
			if tsHeader != "" && http.CanonicalHeaderKey(tsHeader) != "X-Weft-Signature" {
				good.Set(tsHeader, strconv.FormatInt(now.Unix(), 10))
				payload = strconv.FormatInt(now.Unix(), 10) + "." + raw
			} else {
				sig.Timestamp = ""
			}
			good.Set("X-Weft-Signature", "sha256="+mac(secret, payload))
			if err := verifySignature(sig, secret, good, []byte(raw), now); err != nil {
				t.Fatalf("a correctly signed request was refused: %v", err)
			}
		}
	})
}
