package connectors

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/weftio/weft/internal/lazy"
)

// Redacted replaces a credential wherever Weft redacts one.
const Redacted = "[REDACTED]"

var (
	// queryPair is one name=value pair of a query string, in a URL or in
	// text that quotes one (a *url.Error says `Get "https://…?api_key=…"`).
	queryPair = lazy.NewRegexp(`([?&;])([^=&;?#\s"'<>]{1,128})=([^&;#\s"'<>]*)`)
	// userinfo is the user:password@ part of a URL.
	userinfo = lazy.NewRegexp(`([A-Za-z][A-Za-z0-9+.\-]*://[^/?#\s:@"'<>]*):[^@/?#\s"'<>]*@`)
)

// credentialWords are the words of a query parameter name that say it
// carries a credential (api_key, apiKey, access_token, X-Amz-Signature ...).
var credentialWords = map[string]bool{
	"key": true, "apikey": true, "token": true, "secret": true, "password": true, "passwd": true, "pwd": true,
	"signature": true, "sig": true, "auth": true, "authorization": true, "credential": true, "credentials": true,
	"session": true, "sessionid": true, "jwt": true, "bearer": true, "assertion": true,
}

// credentialSuffixes catch run-together names (accesstoken, clientsecret).
var credentialSuffixes = []string{"token", "secret", "password", "apikey", "signature"}

// CredentialParam reports whether a query parameter called name looks like
// it carries a credential.
func CredentialParam(name string) bool {
	for _, w := range Words(name) {
		if credentialWords[w] {
			return true
		}
		for _, s := range credentialSuffixes {
			if strings.HasSuffix(w, s) {
				return true
			}
		}
	}
	return false
}

// Words splits an identifier or a phrase into lower-case words at case
// changes and at anything that is not a letter or digit: api_key, apiKey,
// X-Amz-Signature, "delete-attestations-bulk", "Revoke a list".
func Words(name string) []string {
	var words []string
	var cur []rune
	prevLower := false
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for _, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if unicode.IsUpper(r) && prevLower {
				flush()
			}
			cur = append(cur, r)
			prevLower = unicode.IsLower(r) || unicode.IsDigit(r)
		default:
			flush()
			prevLower = false
		}
	}
	flush()
	return words
}

// RedactURLs hides credentials in URLs inside text (an error message, a
// recorded URL): the values of query parameters whose names look like
// credentials or are among params (a connection's API-key parameter), and
// the password of user:password@. It is the one redaction that every place
// recording or returning a URL uses.
func RedactURLs(text string, params ...string) string {
	if !strings.ContainsAny(text, "?&;@") {
		return text
	}
	extra := make(map[string]bool, len(params))
	for _, p := range params {
		if p != "" {
			extra[strings.ToLower(p)] = true
		}
	}
	text = queryPair.ReplaceAllStringFunc(text, func(m string) string {
		sub := queryPair.FindStringSubmatch(m)
		name := sub[2]
		if dec, err := url.QueryUnescape(name); err == nil {
			name = dec
		}
		if sub[3] == "" || sub[3] == Redacted || !(extra[strings.ToLower(name)] || CredentialParam(name)) {
			return m
		}
		return sub[1] + sub[2] + "=" + Redacted
	})
	return userinfo.ReplaceAllString(text, "${1}:"+Redacted+"@")
}

// RedactSecrets replaces every occurrence of each secret (at least four
// characters; shorter ones would blank out ordinary words) in text.
func RedactSecrets(text string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			text = strings.ReplaceAll(text, s, Redacted)
		}
	}
	return text
}
