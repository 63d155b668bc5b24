package apim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHMACCanonicalString pins the documented canonical string and a
// signature computed independently:
//
//	printf '{"qty":1}' | sha256sum
//	printf 'WEFT-HMAC-SHA256\nPOST\n/apis/shop/v1/orders?x=1\n1733220000\nn-0123456789abcdef\n%s' DIGEST | openssl dgst -sha256 -hmac whs_secret
func TestHMACCanonicalString(t *testing.T) {
	const digest = "92438ddd4266b3271fcebff491a7db7f0995332bade824c704f83596b7f36f74"
	got := CanonicalString("POST", "/apis/shop/v1/orders?x=1", "1733220000", "n-0123456789abcdef", []byte(`{"qty":1}`))
	if want := "WEFT-HMAC-SHA256\nPOST\n/apis/shop/v1/orders?x=1\n1733220000\nn-0123456789abcdef\n" + digest; got != want {
		t.Fatalf("canonical string:\n%q\nwant\n%q", got, want)
	}
	sig := SignHMAC("whs_secret", "POST", "/apis/shop/v1/orders?x=1", "1733220000", "n-0123456789abcdef", []byte(`{"qty":1}`))
	if sig != "0595e95cab277fc38aa8be41bdd7b28250ffdf692afd1343cf859e2277a963c9" {
		t.Fatalf("signature %s", sig)
	}
}

func TestParseHMAC(t *testing.T) {
	now := time.Unix(1733220000, 0)
	good := HMACAuthorization("0123456789abcdef", "whs_secret", "GET", "/x", now, "n-0123456789abcdef", nil)
	h := http.Header{"Authorization": {good}}
	sc, ok, err := ParseHMAC(h)
	if err != nil || !ok || sc.Credential != "0123456789abcdef" || !sc.At.Equal(now) || sc.Nonce != "n-0123456789abcdef" || len(sc.Signature) != 32 {
		t.Fatalf("good: %+v %v %v", sc, ok, err)
	}
	if _, ok, err := ParseHMAC(http.Header{}); ok || err != nil {
		t.Fatalf("none: %v %v", ok, err)
	}
	for _, bad := range []string{
		"Bearer x",
		"WEFT-HMAC-SHA256",
		"WEFT-HMAC-SHA256 Credential=0123456789abcdef",
		strings.Replace(good, "Credential=0123456789abcdef", "Credential=0123456789ABCDEF", 1),
		strings.Replace(good, "Credential=0123456789abcdef", "Credential=01234", 1),
		strings.Replace(good, "Timestamp=1733220000", "Timestamp=1.5", 1),
		strings.Replace(good, "Timestamp=1733220000", "Timestamp=9999999999999", 1),
		strings.Replace(good, "Nonce=n-0123456789abcdef", "Nonce=n 0123456789abcdef", 1),
		strings.Replace(good, "Nonce=n-0123456789abcdef", "Nonce="+strings.Repeat("a", 65), 1),
		strings.Replace(good, "Signature=", "Signature=zz", 1),
		good + ", Extra=1",
		good + ", Nonce=n-0123456789abcdef",
		strings.Replace(good, "Nonce=n-0123456789abcdef", "Nonce=", 1),
		"WEFT-HMAC-SHA256 " + strings.Repeat(",", 600),
	} {
		if _, ok, err := ParseHMAC(http.Header{"Authorization": {bad}}); !ok || err == nil || !strings.Contains(err.Error(), "malformed signature") {
			t.Errorf("%.80q: %v %v", bad, ok, err)
		}
	}
	if _, _, err := ParseHMAC(http.Header{"Authorization": {good, good}}); err == nil {
		t.Error("two headers")
	}
}

func TestSignHMACCoversEveryPart(t *testing.T) {
	base := SignHMAC("s", "POST", "/p?q=1", "1", "nonce-nonce-nonce", []byte("b"))
	for name, sig := range map[string]string{
		"secret": SignHMAC("t", "POST", "/p?q=1", "1", "nonce-nonce-nonce", []byte("b")),
		"method": SignHMAC("s", "PUT", "/p?q=1", "1", "nonce-nonce-nonce", []byte("b")),
		"path":   SignHMAC("s", "POST", "/q?q=1", "1", "nonce-nonce-nonce", []byte("b")),
		"query":  SignHMAC("s", "POST", "/p?q=2", "1", "nonce-nonce-nonce", []byte("b")),
		"time":   SignHMAC("s", "POST", "/p?q=1", "2", "nonce-nonce-nonce", []byte("b")),
		"nonce":  SignHMAC("s", "POST", "/p?q=1", "1", "nonce-nonce-nonc3", []byte("b")),
		"body":   SignHMAC("s", "POST", "/p?q=1", "1", "nonce-nonce-nonce", []byte("c")),
	} {
		if sig == base {
			t.Errorf("the signature does not cover the %s", name)
		}
	}
}

// FuzzParseHMAC: any Authorization header is parsed or refused with an
// unauthorized error; no panic, and the signature is never echoed.
//
//	go test ./apim -run '^$' -fuzz FuzzParseHMAC -fuzztime 30s
func FuzzParseHMAC(f *testing.F) {
	f.Add(HMACAuthorization("0123456789abcdef", "s", "GET", "/x", time.Unix(1, 0), "n-0123456789abcdef", nil))
	f.Add("WEFT-HMAC-SHA256 Credential=,,,=")
	f.Fuzz(func(t *testing.T, v string) {
		_, ok, err := ParseHMAC(http.Header{"Authorization": {v}})
		if !ok {
			t.Fatal("a header was sent")
		}
		if err != nil && len(v) > 200 && strings.Contains(err.Error(), v) {
			t.Fatal("echoed")
		}
	})
}
