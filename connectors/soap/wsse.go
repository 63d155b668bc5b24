package soap

import (
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the UsernameToken profile's digest is SHA-1 by definition
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/weftio/weft/connectors"
)

// WS-Security namespaces and URIs (OASIS UsernameToken Profile 1.0/1.1).
const (
	nsWSSE          = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU           = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	passwordText    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
	passwordDigest  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
	base64Encoding  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
	maxCredentialSz = 4096
)

// usernameToken is a connection's WS-Security credentials.
type usernameToken struct {
	username, password string
	digest             bool
	now                func() time.Time
	nonce              func() ([]byte, error)
}

// tokenFor reads the UsernameToken a connection configures (nil: none):
// config.wsse_username, config.wsse_password_type, secrets.wsse_password.
func tokenFor(c *connectors.Connection) (*usernameToken, error) {
	if c == nil {
		return nil, nil
	}
	u, _ := c.Config["wsse_username"].(string)
	pt, _ := c.Config["wsse_password_type"].(string)
	pw := c.Secrets["wsse_password"]
	if u == "" {
		if pw != "" || pt != "" {
			return nil, fmt.Errorf("connection %s: WS-Security needs config.wsse_username", c.Name)
		}
		return nil, nil
	}
	if len(u) > maxCredentialSz || len(pw) > maxCredentialSz {
		return nil, fmt.Errorf("connection %s: WS-Security credentials longer than %d bytes", c.Name, maxCredentialSz)
	}
	t := &usernameToken{username: u, password: pw, now: time.Now, nonce: randomNonce}
	switch pt {
	case "", "PasswordText":
	case "PasswordDigest":
		t.digest = true
	default:
		return nil, fmt.Errorf("connection %s: wsse_password_type %q is not PasswordText or PasswordDigest", c.Name, pt)
	}
	return t, nil
}

func randomNonce() ([]byte, error) {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	return b, err
}

// digestOf is the profile's Password_Digest = Base64(SHA-1(nonce + created + password)).
func digestOf(nonce []byte, created, password string) string {
	h := sha1.New() //nolint:gosec
	h.Write(nonce)
	h.Write([]byte(created))
	h.Write([]byte(password))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// write adds the wsse:Security header block. The password (or its
// digest) goes only into the envelope, never into an error or a log.
func (t *usernameToken) write(b *strings.Builder, version string) error {
	must := "1"
	if version == "1.2" {
		must = "true"
	}
	nonce, err := t.nonce()
	if err != nil {
		return fmt.Errorf("WS-Security nonce: %v", err)
	}
	created := t.now().UTC().Format("2006-01-02T15:04:05.000Z")
	b.WriteString(`<wsse:Security xmlns:wsse="` + nsWSSE + `" xmlns:wsu="` + nsWSU + `" soapenv:mustUnderstand="` + must + `">`)
	b.WriteString(`<wsse:UsernameToken wsu:Id="UsernameToken-1"><wsse:Username>`)
	xmlEscape(b, t.username)
	b.WriteString(`</wsse:Username>`)
	if t.digest {
		b.WriteString(`<wsse:Password Type="` + passwordDigest + `">` + digestOf(nonce, created, t.password) + `</wsse:Password>`)
	} else {
		b.WriteString(`<wsse:Password Type="` + passwordText + `">`)
		xmlEscape(b, t.password)
		b.WriteString(`</wsse:Password>`)
	}
	b.WriteString(`<wsse:Nonce EncodingType="` + base64Encoding + `">` + base64.StdEncoding.EncodeToString(nonce) + `</wsse:Nonce>`)
	b.WriteString(`<wsu:Created>` + created + `</wsu:Created></wsse:UsernameToken></wsse:Security>`)
	return nil
}
