package soap

import (
	"bytes"
	"fmt"
	"path"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/lazy"
)

// Bundle makes a WSDL self-contained: the XML Schemas it imports (and
// those import) from files are copied, unchanged, into its wsdl:types, so
// the one document can be imported over the API, stored and reloaded
// with every type defined. It returns the bundled document and what it
// could not take in: WSDLs the document imports (their messages and
// port types are not merged) and schemas included without a namespace of
// their own. A document that needs nothing from files comes back as is.
func Bundle(wsdl []byte, files map[string][]byte) ([]byte, []string, error) {
	defs, err := parseDefinitions("document.wsdl", wsdl, files, DefaultLimits)
	if err != nil {
		return nil, nil, err
	}
	var left []string
	for _, n := range defs.wsdlDocs {
		left = append(left, n+" (a WSDL: its definitions are not merged; import it on its own)")
	}
	for _, n := range defs.chameleon {
		left = append(left, n+" (a schema without a targetNamespace, included: not copied)")
	}
	if len(defs.schemaDocs) == 0 {
		return wsdl, left, nil
	}
	inlined := map[string]bool{}
	for _, n := range defs.schemaDocs {
		inlined[path.Base(n)] = true
	}
	var add bytes.Buffer
	for _, n := range defs.schemaDocs {
		body := schemaBody(files[n])
		// An include of a schema copied in beside it is dropped: the copy
		// (same namespace) already defines what it would.
		body = includeEl.ReplaceAllFunc(body, func(el []byte) []byte {
			if m := locationAttr.FindSubmatch(el); m != nil && inlined[path.Base(string(m[1]))] {
				return nil
			}
			return el
		})
		add.Write(body)
		add.WriteByte('\n')
	}
	out, err := insertTypes(wsdl, add.Bytes())
	if err != nil {
		return nil, nil, err
	}
	if int64(len(out)) > DefaultLimits.MaxBytes {
		return nil, nil, weft.Errorf(weft.ETooLarge, "the bundled WSDL is %d bytes; the limit is %d", len(out), DefaultLimits.MaxBytes)
	}
	// The result must import as the set did.
	if _, _, err := compile("bundle", out, Options{}); err != nil {
		return nil, nil, fmt.Errorf("the bundled WSDL does not import: %v", err)
	}
	return out, left, nil
}

var (
	prolog       = lazy.NewRegexp(`^(?s)\s*(<\?.*?\?>\s*)*`)
	typesClose   = lazy.NewRegexp(`</([A-Za-z_][\w.-]*:)?types\s*>`)
	rootOpen     = lazy.NewRegexp(`(?s)<([A-Za-z_][\w.-]*:)?definitions[\s>]`)
	includeEl    = lazy.NewRegexp(`<([A-Za-z_][\w.-]*:)?include\b[^>]*/>`)
	locationAttr = lazy.NewRegexp(`schemaLocation\s*=\s*["']([^"']*)["']`)
)

// schemaBody is a schema document without its BOM and prolog (the XML
// declaration and processing instructions), ready to sit in wsdl:types.
func schemaBody(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	return prolog.ReplaceAll(data, nil)
}

// insertTypes puts schemas at the end of the document's wsdl:types, or in
// a new one after the root's start tag.
func insertTypes(wsdl, schemas []byte) ([]byte, error) {
	if locs := typesClose.FindAllIndex(wsdl, -1); len(locs) > 0 {
		at := locs[len(locs)-1][0]
		return concat(wsdl[:at], schemas, wsdl[at:]), nil
	}
	m := rootOpen.FindIndex(wsdl)
	if m == nil {
		return nil, fmt.Errorf("no wsdl:definitions start tag found")
	}
	end := bytes.IndexByte(wsdl[m[0]:], '>')
	if end < 0 {
		return nil, fmt.Errorf("the wsdl:definitions start tag is not closed")
	}
	at := m[0] + end + 1
	types := concat([]byte(`<types xmlns="`+nsWSDL+`">`), schemas, []byte(`</types>`))
	return concat(wsdl[:at], types, wsdl[at:]), nil
}

func concat(parts ...[]byte) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		b.Write(p)
	}
	return b.Bytes()
}
