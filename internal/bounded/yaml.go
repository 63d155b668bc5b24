package bounded

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/lazy"
)

// YAML parses src (YAML or JSON) into its document node and checks it
// against l (zero fields from Default). Aliases stay unexpanded in the
// tree, but the checks count them as expanded, so a caller may walk or
// decode the tree, aliases included, within l. name names the document
// in errors (name:line:col). An empty document gives a document node
// with no content.
func YAML(name string, src []byte, l Limits) (*yaml.Node, error) {
	l = l.With(Default)
	if int64(len(src)) > l.MaxBytes {
		return nil, tooLarge(name, len(src), l)
	}
	var doc yaml.Node
	if err := parseYAML(src, &doc); err != nil {
		return nil, weft.Wrap(weft.EInvalid, err, "%s: %s", yamlErrPos(name, err), yamlErrMsg(err))
	}
	if err := check(name, &doc, l); err != nil {
		return nil, err
	}
	return &doc, nil
}

// UnmarshalYAML checks src as YAML does, then decodes it into v.
func UnmarshalYAML(name string, src []byte, v any, l Limits) error {
	doc, err := YAML(name, src, l)
	if err != nil || len(doc.Content) == 0 {
		return err
	}
	return decodeErr(name, doc.Decode(v))
}

// UnmarshalYAMLStrict is UnmarshalYAML that refuses fields v does not
// have.
func UnmarshalYAMLStrict(name string, src []byte, v any, l Limits) error {
	doc, err := YAML(name, src, l)
	if err != nil || len(doc.Content) == 0 {
		return err
	}
	// The tree passed the checks; decode the same bytes again with the
	// decoder that knows about unknown fields (yaml.Node.Decode does not).
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	return decodeErr(name, safely(func() error { return dec.Decode(v) }))
}

func decodeErr(name string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*weft.Error); ok {
		return err
	}
	return weft.Wrap(weft.EInvalid, err, "%s: %s", yamlErrPos(name, err), yamlErrMsg(err))
}

// parseYAML is yaml.Unmarshal into a node that turns a panic of the
// parser into an error: the input is untrusted.
func parseYAML(src []byte, doc *yaml.Node) error {
	return safely(func() error { return yaml.Unmarshal(src, doc) })
}

func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: the parser failed: %v", r)
		}
	}()
	return f()
}

// counter checks one document. Expanded sizes and heights of aliased
// nodes are memoized, so checking is linear in the document's size
// however far its aliases would expand.
type counter struct {
	name              string
	l                 Limits
	nodes, aliasNodes int64
	aliasBytes        int64
	memo              map[*yaml.Node]extent
	open              map[*yaml.Node]bool // anchored nodes being measured (cycles)
	cycle             *yaml.Node
}

type extent struct {
	size   int64 // nodes after expansion, saturated at cap
	bytes  int64 // scalar text after expansion, saturated at cap
	height int   // levels after expansion, saturated at MaxDepth+1
}

func check(name string, doc *yaml.Node, l Limits) error {
	c := &counter{name: name, l: l, memo: map[*yaml.Node]extent{}, open: map[*yaml.Node]bool{}}
	return c.walk(doc, 0)
}

func (c *counter) pos(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", c.name, n.Line, n.Column)
}

// walk visits the literal tree; depth is n's level after expansion (the
// document node is level 0).
func (c *counter) walk(n *yaml.Node, depth int) error {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return located(weft.EInvalid, c.pos(n), "alias *%s names no anchor", n.Value)
		}
		e := c.extent(n.Alias, 0)
		if c.cycle != nil {
			return located(weft.EInvalid, c.pos(n), "alias *%s refers to a node that contains it", n.Value)
		}
		c.aliasNodes = sat(c.aliasNodes + e.size)
		if c.aliasNodes > c.l.MaxAliasNodes {
			return located(weft.EInvalid, c.pos(n), "YAML aliases expand to more than %d nodes (alias *%s); the limit is %d", c.l.MaxAliasNodes, n.Value, c.l.MaxAliasNodes)
		}
		c.aliasBytes = sat(c.aliasBytes + e.bytes)
		if c.aliasBytes > c.l.MaxAliasBytes {
			return located(weft.EInvalid, c.pos(n), "YAML aliases expand to more than %d bytes of text (alias *%s); the limit is %d", c.l.MaxAliasBytes, n.Value, c.l.MaxAliasBytes)
		}
		if err := c.count(n, e.size); err != nil {
			return err
		}
		if depth-1+e.height > c.l.MaxDepth {
			return c.tooDeep(n)
		}
		return nil
	}
	if depth > c.l.MaxDepth {
		return c.tooDeep(n)
	}
	if err := c.count(n, 1); err != nil {
		return err
	}
	for _, k := range n.Content {
		if err := c.walk(k, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (c *counter) count(n *yaml.Node, k int64) error {
	c.nodes = sat(c.nodes + k)
	if c.nodes > c.l.MaxNodes {
		return located(weft.ETooLarge, c.pos(n), "document has more than %d nodes (aliases expanded); the limit is %d", c.l.MaxNodes, c.l.MaxNodes)
	}
	return nil
}

func (c *counter) tooDeep(n *yaml.Node) error {
	return located(weft.EInvalid, c.pos(n), "document nests deeper than %d levels (aliases expanded); the limit is %d", c.l.MaxDepth, c.l.MaxDepth)
}

// extent measures n with aliases expanded. level guards the recursion on
// deeply nested literal trees.
func (c *counter) extent(n *yaml.Node, level int) extent {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return extent{size: 1, height: 1}
		}
		n = n.Alias
	}
	if e, ok := c.memo[n]; ok {
		return e
	}
	if c.open[n] {
		c.cycle = n
		return extent{size: 1, height: 1}
	}
	if level > c.l.MaxDepth {
		return extent{size: 1, height: c.l.MaxDepth + 1}
	}
	c.open[n] = true
	e := extent{size: 1, height: 1, bytes: int64(len(n.Value))}
	for _, k := range n.Content {
		ke := c.extent(k, level+1)
		e.size = sat(e.size + ke.size)
		e.bytes = sat(e.bytes + ke.bytes)
		e.height = max(e.height, min(ke.height+1, c.l.MaxDepth+1))
	}
	delete(c.open, n)
	c.memo[n] = e
	return e
}

// satCap keeps sums far from overflow: every limit is much smaller.
const satCap = int64(1) << 62

func sat(v int64) int64 {
	if v > satCap || v < 0 {
		return satCap
	}
	return v
}

var yamlLineRe = lazy.NewRegexp(`line (\d+)(?::(\d+))?`)

// yamlErrPos turns the first "line N[:C]" of a YAML error into name:N:C.
func yamlErrPos(name string, err error) string {
	m := yamlLineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return name
	}
	col := m[2]
	if col == "" {
		col = "1"
	}
	return name + ":" + m[1] + ":" + col
}

// yamlErrMsg is the YAML error without its prefix and positions; a type
// mismatch loses the document's text, which may hold a credential.
func yamlErrMsg(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:\n")
	s = yamlLineRe.ReplaceAllString(s, "")
	if i := strings.Index(s, "cannot unmarshal"); i >= 0 {
		s = s[:i] + "wrong type" + typeTail(s[i:])
	}
	return strings.Join(strings.Fields(strings.TrimPrefix(strings.TrimSpace(s), ":")), " ")
}

// typeTail keeps " into T" of "cannot unmarshal !!str `secret` into T".
func typeTail(s string) string {
	if i := strings.LastIndex(s, " into "); i >= 0 {
		return strings.SplitN(s[i:], "\n", 2)[0]
	}
	return ""
}
