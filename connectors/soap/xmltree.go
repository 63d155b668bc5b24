package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/htmlindex"

	"github.com/weftio/weft"
)

// Limits bound one XML document (a WSDL, a schema, a SOAP message).
type Limits struct {
	MaxBytes    int64 // the document's size
	MaxDepth    int   // element nesting
	MaxElements int   // elements in all
	MaxAttrs    int   // attributes on one element
	MaxText     int   // character data kept per element
}

// DefaultLimits: SAP and Oracle WSDLs with their schemas run to a few
// megabytes and a few hundred thousand elements; XML Schema nests deeply
// but not hundreds of levels.
var DefaultLimits = Limits{MaxBytes: 16 << 20, MaxDepth: 128, MaxElements: 500000, MaxAttrs: 256, MaxText: 1 << 20}

// messageLimits bound a SOAP message (a response, a request to the sandbox).
var messageLimits = Limits{MaxBytes: 32 << 20, MaxDepth: 128, MaxElements: 1000000, MaxAttrs: 256, MaxText: 16 << 20}

// node is one XML element with its namespace scope, so QName-valued
// attributes (type="tns:Order") resolve as the document wrote them.
type node struct {
	Name   xml.Name // Space is the namespace URI
	Attr   []xml.Attr
	Kids   []*node
	Text   string
	scope  *nsScope // the namespace declarations in scope here
	parent *node
}

func (n *node) attr(local string) (string, bool) {
	for _, a := range n.Attr {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == n.Name.Space) {
			return a.Value, true
		}
	}
	return "", false
}

func (n *node) get(local string) string {
	v, _ := n.attr(local)
	return v
}

// attrNS returns an attribute in namespace ns.
func (n *node) attrNS(ns, local string) (string, bool) {
	for _, a := range n.Attr {
		if a.Name.Local == local && a.Name.Space == ns {
			return a.Value, true
		}
	}
	return "", false
}

// kids returns the children in namespace ns named local ("" any).
func (n *node) kids(ns, local string) []*node {
	var out []*node
	for _, k := range n.Kids {
		if (ns == "" || k.Name.Space == ns) && (local == "" || k.Name.Local == local) {
			out = append(out, k)
		}
	}
	return out
}

func (n *node) kid(ns, local string) *node {
	for _, k := range n.Kids {
		if (ns == "" || k.Name.Space == ns) && k.Name.Local == local {
			return k
		}
	}
	return nil
}

// qname resolves a prefixed name against n's scope.
func (n *node) qname(v string) (xml.Name, error) {
	v = strings.TrimSpace(v)
	prefix, local := "", v
	if i := strings.IndexByte(v, ':'); i >= 0 {
		prefix, local = v[:i], v[i+1:]
	}
	if local == "" {
		return xml.Name{}, fmt.Errorf("empty qualified name %q", v)
	}
	ns, ok := n.scope.lookup(prefix)
	if !ok && prefix != "" {
		if prefix == "xml" {
			return xml.Name{Space: "http://www.w3.org/XML/1998/namespace", Local: local}, nil
		}
		return xml.Name{}, fmt.Errorf("prefix %q of %q is not declared", prefix, v)
	}
	return xml.Name{Space: ns, Local: local}, nil
}

// maxMixedText bounds the text kept of an element that also has child
// elements (documentation with markup): only its start is ever read.
const maxMixedText = 8 << 10

var errDoctype = errors.New("the document has a DOCTYPE: DTDs and entity declarations are refused (entity expansion)")

// parseXML reads a whole document into a tree within l. DTDs are refused
// outright (no entity can be declared, so none can expand), and only the
// five predefined entities and character references are understood.
func parseXML(name string, data []byte, l Limits) (*node, error) {
	if int64(len(data)) > l.MaxBytes {
		return nil, weft.Errorf(weft.ETooLarge, "%s is %d bytes; the limit is %d", name, len(data), l.MaxBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return r, nil
		}
		enc, err := htmlindex.Get(charset)
		if err != nil {
			return nil, fmt.Errorf("unsupported encoding %q", charset)
		}
		return enc.NewDecoder().Reader(r), nil
	}
	var root, cur *node
	var raw []xml.Name // open elements as written, to match end tags
	depth, count := 0, 0
	var text strings.Builder
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, weft.Errorf(weft.EInvalid, "%s: not well-formed XML: %v", name, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) || bytes.Contains(t, []byte("ENTITY")) {
				return nil, weft.Errorf(weft.EInvalid, "%s: %v", name, errDoctype)
			}
		case xml.StartElement:
			if cur == nil && root != nil {
				return nil, weft.Errorf(weft.EInvalid, "%s: more than one root element", name)
			}
			depth++
			count++
			if depth > l.MaxDepth {
				return nil, weft.Errorf(weft.EInvalid, "%s: elements nest deeper than %d", name, l.MaxDepth)
			}
			if count > l.MaxElements {
				return nil, weft.Errorf(weft.ETooLarge, "%s: more than %d elements", name, l.MaxElements)
			}
			if len(t.Attr) > l.MaxAttrs {
				return nil, weft.Errorf(weft.ETooLarge, "%s: element %s has more than %d attributes", name, t.Name.Local, l.MaxAttrs)
			}
			n := &node{parent: cur}
			if cur != nil {
				n.scope = cur.scope
				if text.Len() > 0 && strings.TrimSpace(text.String()) != "" && len(cur.Text)+text.Len() <= maxMixedText {
					cur.Text += text.String() // mixed content: keep the text (its start)
				}
			} else {
				n.scope = &nsScope{m: []nsDecl{{"xml", "http://www.w3.org/XML/1998/namespace"}}}
			}
			text.Reset()
			raw = append(raw, t.Name)
			// An element's own declarations chain to its parent's: an
			// element that declares nothing shares them, and one that does
			// holds only its own (never a copy of every prefix above it).
			var own []nsDecl
			for _, a := range t.Attr {
				var prefix string
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					prefix = ""
				case a.Name.Space == "xmlns":
					prefix = a.Name.Local
				default:
					continue
				}
				own = append(own, nsDecl{prefix, a.Value})
			}
			if own != nil {
				n.scope = &nsScope{m: own, up: n.scope}
			}
			// Resolve the element's and attributes' prefixes.
			n.Name = resolve(t.Name, n.scope, true)
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.Attr = append(n.Attr, xml.Attr{Name: resolve(a.Name, n.scope, false), Value: a.Value})
			}
			if cur != nil {
				cur.Kids = append(cur.Kids, n)
			} else {
				root = n
			}
			cur = n
		case xml.EndElement:
			if cur == nil || len(raw) == 0 || raw[len(raw)-1] != t.Name {
				return nil, weft.Errorf(weft.EInvalid, "%s: not well-formed XML: end element %s does not match its start", name, t.Name.Local)
			}
			raw = raw[:len(raw)-1]
			if len(cur.Kids) == 0 {
				cur.Text = text.String()
			} else if s := text.String(); strings.TrimSpace(s) != "" && len(cur.Text)+len(s) <= maxMixedText {
				cur.Text += s
			}
			text.Reset()
			depth--
			cur = cur.parent
		case xml.CharData:
			if cur != nil {
				if text.Len()+len(t) > l.MaxText {
					return nil, weft.Errorf(weft.ETooLarge, "%s: text of element %s is longer than %d bytes", name, cur.Name.Local, l.MaxText)
				}
				text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, weft.Errorf(weft.EInvalid, "%s: no root element", name)
	}
	if cur != nil {
		return nil, weft.Errorf(weft.EInvalid, "%s: element %s is not closed", name, cur.Name.Local)
	}
	return root, nil
}

// nsScope is one element's namespace declarations, chained to those in
// scope around it.
type nsScope struct {
	m  []nsDecl
	up *nsScope
}

// nsDecl binds a prefix ("" the default namespace) to a URI.
type nsDecl struct{ prefix, uri string }

func (s *nsScope) lookup(prefix string) (string, bool) {
	for x := s; x != nil; x = x.up {
		for i := len(x.m) - 1; i >= 0; i-- { // a repeated declaration: the last one
			if x.m[i].prefix == prefix {
				return x.m[i].uri, true
			}
		}
	}
	return "", false
}

func resolve(n xml.Name, scope *nsScope, elem bool) xml.Name {
	if n.Space == "" {
		if elem {
			def, _ := scope.lookup("")
			return xml.Name{Space: def, Local: n.Local}
		}
		return n // an unprefixed attribute has no namespace
	}
	if ns, ok := scope.lookup(n.Space); ok {
		return xml.Name{Space: ns, Local: n.Local}
	}
	return n // an undeclared prefix: kept as is (the decoder checked syntax only)
}
