package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/flow"
)

// verifySignature checks a webhook's HMAC-SHA256 signature against secret.
// It never accepts: with an empty secret (anybody can compute that MAC),
// with the signature or timestamp header missing or sent more than once
// (only one value may be in force, and a proxy or client that appends a
// second must not get the first one checked and the other trusted), with
// a timestamp outside the tolerance (a replay), or with a wrong MAC.
func verifySignature(sig *flow.Signature, secret string, h http.Header, raw []byte, now time.Time) error {
	if secret == "" {
		return weft.Errorf(weft.EUnauthorized, "signature cannot be verified: secret %q is empty on this server", sig.Secret)
	}
	header := sig.Header
	if header == "" {
		header = "X-Weft-Signature"
	}
	got, err := single(h, header)
	if err != nil {
		return err
	}
	got = strings.TrimSpace(got)
	if len(got) > 7 && strings.EqualFold(got[:7], "sha256=") {
		got = got[7:]
	}
	if got == "" {
		return weft.Errorf(weft.EUnauthorized, "missing signature header %s", header)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	if sig.Timestamp != "" {
		ts, err := single(h, sig.Timestamp)
		if err != nil {
			return err
		}
		ts = strings.TrimSpace(ts)
		sec, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || len(ts) > 12 || strings.HasPrefix(ts, "+") || strings.HasPrefix(ts, "-") {
			return weft.Errorf(weft.EUnauthorized, "timestamp header %s must be Unix seconds", sig.Timestamp)
		}
		tol := sig.Tolerance
		if tol <= 0 {
			tol = flow.DefaultSignatureTolerance
		}
		if d := now.Sub(time.Unix(sec, 0)); d > tol || d < -tol {
			return weft.Errorf(weft.EUnauthorized, "timestamp in %s is outside the %s window: a replayed or delayed request (or a clock off by more than that)", sig.Timestamp, tol)
		}
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
	}
	mac.Write(raw)
	gotBytes, err := hex.DecodeString(got)
	if err != nil || !hmac.Equal(gotBytes, mac.Sum(nil)) {
		return weft.Errorf(weft.EUnauthorized, "bad signature in %s", header)
	}
	return nil
}

// single returns the one value of header name, refusing none or several.
func single(h http.Header, name string) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0 || (len(vs) == 1 && strings.TrimSpace(vs[0]) == ""):
		return "", weft.Errorf(weft.EUnauthorized, "missing header %s", name)
	case len(vs) > 1:
		return "", weft.Errorf(weft.EUnauthorized, "header %s was sent %d times; send it exactly once", name, len(vs))
	}
	return vs[0], nil
}
