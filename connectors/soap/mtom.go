package soap

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
)

const nsXOP = "http://www.w3.org/2004/08/xop/include"

// maxMTOMParts bounds the attachments of one response.
const maxMTOMParts = 256

// unpackMTOM splits an MTOM (multipart/related, XOP) response into its
// root envelope and its attachments by Content-ID.
func unpackMTOM(ctype string, raw []byte) ([]byte, map[string][]byte, error) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || mt != "multipart/related" || params["boundary"] == "" {
		return nil, nil, fmt.Errorf("the response is %s, not a SOAP envelope or an MTOM package", clip(ctype, 80))
	}
	start := strings.Trim(params["start"], "<>")
	r := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	var root []byte
	parts := map[string][]byte{}
	for i := 0; ; i++ {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("MTOM package: %v", err)
		}
		if i >= maxMTOMParts {
			return nil, nil, fmt.Errorf("MTOM package: more than %d parts", maxMTOMParts)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, fmt.Errorf("MTOM package: %v", err)
		}
		id := strings.Trim(p.Header.Get(textproto.CanonicalMIMEHeaderKey("Content-ID")), "<> ")
		if root == nil && (start == "" || id == start) {
			root = data
			continue
		}
		parts[id] = data
	}
	if root == nil {
		return nil, nil, fmt.Errorf("MTOM package: no root part")
	}
	return root, parts, nil
}

// inlineXOP replaces each xop:Include in the tree by the base64 text of
// the attachment it names, so base64Binary values decode as if inline.
func inlineXOP(n *node, parts map[string][]byte) error {
	var err error
	walk(n, func(x *node) {
		if err != nil || len(x.Kids) != 1 {
			return
		}
		inc := x.Kids[0]
		if inc.Name.Space != nsXOP || inc.Name.Local != "Include" {
			return
		}
		href := strings.TrimPrefix(inc.get("href"), "cid:")
		if h, e := unescapeCID(href); e == nil {
			href = h
		}
		data, ok := parts[href]
		if !ok {
			err = fmt.Errorf("MTOM package: no attachment %q", clip(href, 80))
			return
		}
		x.Kids, x.Text = nil, base64.StdEncoding.EncodeToString(data)
	})
	return err
}

// unescapeCID undoes the URL escaping a cid: URL may carry (RFC 2392).
func unescapeCID(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02x", &c); err != nil {
				return "", err
			}
			b.WriteByte(c)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

// partID is the Content-ID of the n-th attachment of a request.
func partID(n int) string { return fmt.Sprintf("part%d@weft", n) }

// rootID is the Content-ID of a request's envelope part.
const rootID = "root.message@weft"

// packMTOM builds an MTOM request (XOP, multipart/related) from an
// envelope whose base64Binary values name their attachments and the
// attachments' bytes; envType is the envelope's own content type (SOAP
// 1.1's text/xml, or SOAP 1.2's application/soap+xml with its action).
// It returns the package's content type and bytes.
func packMTOM(envelope []byte, parts [][]byte, envType string) (string, []byte) {
	mt, params, _ := mime.ParseMediaType(envType)
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	rootType := mime.FormatMediaType("application/xop+xml", map[string]string{"charset": "UTF-8", "type": mt})
	if a := params["action"]; a != "" {
		rootType = mime.FormatMediaType("application/xop+xml", map[string]string{"charset": "UTF-8", "type": mt, "action": a})
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", rootType)
	h.Set("Content-Transfer-Encoding", "8bit")
	h.Set("Content-ID", "<"+rootID+">")
	pw, _ := w.CreatePart(h)
	_, _ = pw.Write(envelope)
	for i, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Transfer-Encoding", "binary")
		h.Set("Content-ID", "<"+partID(i+1)+">")
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write(p)
	}
	_ = w.Close()
	outer := map[string]string{"type": "application/xop+xml", "start": "<" + rootID + ">", "start-info": mt, "boundary": w.Boundary()}
	if a := params["action"]; a != "" {
		outer["action"] = a
	}
	return mime.FormatMediaType("multipart/related", outer), buf.Bytes()
}
