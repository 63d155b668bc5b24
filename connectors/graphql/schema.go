package graphql

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/internal/lazy"
)

// Limits on a schema document. GitHub's schema (about 1,700 types) is 1.2
// MB as SDL and 5 MB as an introspection result.
const (
	MaxSchemaBytes = 64 << 20
	MaxTypes       = 50000
	maxTokens      = 20_000_000
	maxTypeRefNest = 16 // [[T!]!]! ... in an introspection type reference
)

var jsonLimits = bounded.Limits{MaxBytes: MaxSchemaBytes, MaxDepth: 96, MaxNodes: 1 << 25}

// Source kinds.
const (
	KindSDL           = "graphql-sdl"
	KindIntrospection = "graphql-introspection"
)

// Load parses a GraphQL schema from SDL or from an introspection result
// ({"__schema": ...} or {"data": {"__schema": ...}}), within the limits
// above; the schema is validated (gqlparser) before it is returned.
func Load(doc []byte) (*ast.Schema, string, error) {
	_, doc, err := splitAnnotations(doc)
	if err != nil {
		return nil, "", err
	}
	s, kind, _, err := load(doc)
	return s, kind, err
}

// load is Load, with warnings about what it repaired: a field, argument
// or enum value defined twice in one type (published schemas have them;
// the first definition is kept).
func load(doc []byte) (*ast.Schema, string, []string, error) {
	if len(doc) > MaxSchemaBytes {
		return nil, "", nil, weft.Errorf(weft.ETooLarge, "graphql schema is %d bytes; the limit is %d", len(doc), MaxSchemaBytes)
	}
	kind := KindSDL
	sdl := string(doc)
	if t := bytes.TrimSpace(doc); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		kind = KindIntrospection
		s, err := introspectionSDL(doc)
		if err != nil {
			return nil, "", nil, err
		}
		sdl = s
	}
	sd, err := parser.ParseSchemasWithLimit(maxTokens, validator.Prelude, &ast.Source{Name: "schema", Input: sdl})
	if err != nil {
		return nil, "", nil, weft.Errorf(weft.EInvalid, "graphql schema: %v", err)
	}
	n := 0
	for _, d := range sd.Definitions {
		if !d.BuiltIn {
			n++
		}
	}
	if n+len(sd.Extensions) > MaxTypes {
		return nil, "", nil, weft.Errorf(weft.ETooLarge, "graphql schema has %d types; the limit is %d", n, MaxTypes)
	}
	warnings := dedupe(sd)
	s, err := validator.ValidateSchemaDocument(sd)
	if err != nil {
		return nil, "", nil, weft.Errorf(weft.EInvalid, "graphql schema: %v", err)
	}
	if s.Query == nil && s.Mutation == nil {
		return nil, "", nil, weft.Errorf(weft.EInvalid, "graphql schema has neither a query nor a mutation type")
	}
	return s, kind, warnings, nil
}

// Introspection result types (the fields Weft reads).
type ischema struct {
	QueryType        *iname  `json:"queryType"`
	MutationType     *iname  `json:"mutationType"`
	SubscriptionType *iname  `json:"subscriptionType"`
	Types            []itype `json:"types"`
}

type iname struct {
	Name string `json:"name"`
}

type itype struct {
	Kind          string   `json:"kind"`
	Name          string   `json:"name"`
	Description   *string  `json:"description"`
	Fields        []ifield `json:"fields"`
	InputFields   []ivalue `json:"inputFields"`
	Interfaces    []iname  `json:"interfaces"`
	EnumValues    []ienum  `json:"enumValues"`
	PossibleTypes []iname  `json:"possibleTypes"`
}

type ifield struct {
	Name              string   `json:"name"`
	Description       *string  `json:"description"`
	Args              []ivalue `json:"args"`
	Type              *typeRef `json:"type"`
	IsDeprecated      bool     `json:"isDeprecated"`
	DeprecationReason *string  `json:"deprecationReason"`
}

type ivalue struct {
	Name         string   `json:"name"`
	Description  *string  `json:"description"`
	Type         *typeRef `json:"type"`
	DefaultValue *string  `json:"defaultValue"`
}

type ienum struct {
	Name        string  `json:"name"`
	Description *string `json:"description"`
}

type typeRef struct {
	Kind   string   `json:"kind"`
	Name   *string  `json:"name"`
	OfType *typeRef `json:"ofType"`
}

var nameRe = lazy.NewRegexp(`^[_A-Za-z][_0-9A-Za-z]*$`)

var builtinScalars = map[string]bool{"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true}

// introspectionSDL rewrites an introspection result as SDL, so one parser
// and one validator see every schema. Every name is checked and every
// string quoted; a default value is parsed on its own and printed again,
// so nothing in the result can add to the schema around it.
func introspectionSDL(doc []byte) (string, error) {
	var top struct {
		Schema *ischema `json:"__schema"`
		Data   *struct {
			Schema *ischema `json:"__schema"`
		} `json:"data"`
	}
	if err := bounded.UnmarshalJSON("graphql introspection result", doc, &top, jsonLimits); err != nil {
		return "", err
	}
	s := top.Schema
	if s == nil && top.Data != nil {
		s = top.Data.Schema
	}
	if s == nil {
		return "", weft.Errorf(weft.EInvalid, "graphql introspection result: no __schema (expected {\"__schema\": ...} or {\"data\": {\"__schema\": ...}})")
	}
	if len(s.Types) > MaxTypes {
		return "", weft.Errorf(weft.ETooLarge, "graphql schema has %d types; the limit is %d", len(s.Types), MaxTypes)
	}
	var b strings.Builder
	bad := func(f string, a ...any) error {
		return weft.Errorf(weft.EInvalid, "graphql introspection result: "+f, a...)
	}
	name := func(n, where string) error {
		if !nameRe.MatchString(n) {
			return bad("%s: %q is not a GraphQL name", where, n)
		}
		return nil
	}
	roots := []string{}
	for _, r := range []struct {
		op string
		t  *iname
	}{{"query", s.QueryType}, {"mutation", s.MutationType}, {"subscription", s.SubscriptionType}} {
		if r.t != nil && r.t.Name != "" {
			if err := name(r.t.Name, r.op+"Type"); err != nil {
				return "", err
			}
			roots = append(roots, r.op+": "+r.t.Name)
		}
	}
	if len(roots) > 0 {
		b.WriteString("schema { " + strings.Join(roots, " ") + " }\n")
	}
	desc := func(d *string, indent string) {
		if d != nil && *d != "" {
			b.WriteString(indent + quote(*d) + "\n")
		}
	}
	values := func(list []ivalue, where string) error {
		for i, v := range list {
			if err := name(v.Name, where); err != nil {
				return err
			}
			t, err := typeString(v.Type, 0)
			if err != nil {
				return bad("%s.%s: %v", where, v.Name, err)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			if v.Description != nil && *v.Description != "" {
				b.WriteString(quote(*v.Description) + " ")
			}
			b.WriteString(v.Name + ": " + t)
			if v.DefaultValue != nil {
				dv, err := constValue(*v.DefaultValue)
				if err != nil {
					return bad("%s.%s: default value %q: %v", where, v.Name, *v.DefaultValue, err)
				}
				b.WriteString(" = " + dv)
			}
		}
		return nil
	}
	for _, t := range s.Types {
		if strings.HasPrefix(t.Name, "__") || builtinScalars[t.Name] {
			continue
		}
		if err := name(t.Name, "type"); err != nil {
			return "", err
		}
		desc(t.Description, "")
		switch t.Kind {
		case "SCALAR":
			b.WriteString("scalar " + t.Name + "\n")
		case "OBJECT", "INTERFACE":
			kw := "type "
			if t.Kind == "INTERFACE" {
				kw = "interface "
			}
			b.WriteString(kw + t.Name)
			if len(t.Interfaces) > 0 {
				var is []string
				for _, i := range t.Interfaces {
					if err := name(i.Name, t.Name+" implements"); err != nil {
						return "", err
					}
					is = append(is, i.Name)
				}
				b.WriteString(" implements " + strings.Join(is, " & "))
			}
			if len(t.Fields) == 0 {
				return "", bad("type %s has no fields", t.Name)
			}
			b.WriteString(" {\n")
			for _, f := range t.Fields {
				if err := name(f.Name, t.Name+" field"); err != nil {
					return "", err
				}
				desc(f.Description, "  ")
				b.WriteString("  " + f.Name)
				if len(f.Args) > 0 {
					b.WriteString("(")
					if err := values(f.Args, t.Name+"."+f.Name); err != nil {
						return "", err
					}
					b.WriteString(")")
				}
				ft, err := typeString(f.Type, 0)
				if err != nil {
					return "", bad("%s.%s: %v", t.Name, f.Name, err)
				}
				b.WriteString(": " + ft)
				if f.IsDeprecated {
					r := "No longer supported"
					if f.DeprecationReason != nil {
						r = *f.DeprecationReason
					}
					b.WriteString(" @deprecated(reason: " + quote(r) + ")")
				}
				b.WriteString("\n")
			}
			b.WriteString("}\n")
		case "UNION":
			var ms []string
			for _, p := range t.PossibleTypes {
				if err := name(p.Name, t.Name+" member"); err != nil {
					return "", err
				}
				ms = append(ms, p.Name)
			}
			if len(ms) == 0 {
				return "", bad("union %s has no members", t.Name)
			}
			b.WriteString("union " + t.Name + " = " + strings.Join(ms, " | ") + "\n")
		case "ENUM":
			if len(t.EnumValues) == 0 {
				return "", bad("enum %s has no values", t.Name)
			}
			b.WriteString("enum " + t.Name + " {\n")
			for _, e := range t.EnumValues {
				if err := name(e.Name, t.Name+" value"); err != nil {
					return "", err
				}
				desc(e.Description, "  ")
				b.WriteString("  " + e.Name + "\n")
			}
			b.WriteString("}\n")
		case "INPUT_OBJECT":
			if len(t.InputFields) == 0 {
				return "", bad("input %s has no fields", t.Name)
			}
			b.WriteString("input " + t.Name + " {\n  ")
			if err := values(t.InputFields, t.Name); err != nil {
				return "", err
			}
			b.WriteString("\n}\n")
		default:
			return "", bad("type %s has unknown kind %q", t.Name, t.Kind)
		}
	}
	return b.String(), nil
}

func typeString(t *typeRef, depth int) (string, error) {
	if t == nil {
		return "", fmt.Errorf("missing type")
	}
	if depth > maxTypeRefNest {
		return "", fmt.Errorf("type reference nested more than %d levels", maxTypeRefNest)
	}
	switch t.Kind {
	case "NON_NULL":
		in, err := typeString(t.OfType, depth+1)
		if err != nil {
			return "", err
		}
		if strings.HasSuffix(in, "!") {
			return "", fmt.Errorf("non-null of non-null")
		}
		return in + "!", nil
	case "LIST":
		in, err := typeString(t.OfType, depth+1)
		if err != nil {
			return "", err
		}
		return "[" + in + "]", nil
	}
	if t.Name == nil || !nameRe.MatchString(*t.Name) {
		return "", fmt.Errorf("named type without a valid name")
	}
	return *t.Name, nil
}

// constValue parses a GraphQL constant value on its own and prints it
// again (an introspection default value is GraphQL source text).
func constValue(src string) (string, error) {
	if len(src) > 64<<10 {
		return "", fmt.Errorf("longer than 64 KiB")
	}
	q, err := parser.ParseQuery(&ast.Source{Input: "query($v: Int = " + src + ") { a }"})
	if err != nil {
		return "", fmt.Errorf("not a constant value")
	}
	if len(q.Operations) != 1 || len(q.Fragments) != 0 || len(q.Operations[0].VariableDefinitions) != 1 || q.Operations[0].VariableDefinitions[0].DefaultValue == nil ||
		len(q.Operations[0].SelectionSet) != 1 {
		return "", fmt.Errorf("not a constant value")
	}
	return q.Operations[0].VariableDefinitions[0].DefaultValue.String(), nil
}

// quote writes s as a GraphQL string (its escapes are JSON's).
func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimRight(buf.String(), "\n")
}

// unwrap returns a type's named type, and whether it is a list at any level.
func unwrap(t *ast.Type) (string, bool) {
	list := false
	for t.Elem != nil {
		list = true
		t = t.Elem
	}
	return t.NamedType, list
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dedupe drops the second and later definitions of a field, argument or
// enum value within one type (or one extension), and says so.
func dedupe(sd *ast.SchemaDocument) []string {
	var warnings []string
	defs := append(append(ast.DefinitionList{}, sd.Definitions...), sd.Extensions...)
	for _, d := range defs {
		if d.BuiltIn {
			continue
		}
		seen := map[string]bool{}
		fields := d.Fields[:0]
		for _, f := range d.Fields {
			if seen[f.Name] {
				warnings = append(warnings, fmt.Sprintf("%s.%s is defined twice; the first definition is kept", d.Name, f.Name))
				continue
			}
			seen[f.Name] = true
			args := map[string]bool{}
			kept := f.Arguments[:0]
			for _, a := range f.Arguments {
				if args[a.Name] {
					warnings = append(warnings, fmt.Sprintf("%s.%s(%s) is defined twice; the first definition is kept", d.Name, f.Name, a.Name))
					continue
				}
				args[a.Name] = true
				kept = append(kept, a)
			}
			f.Arguments = kept
			fields = append(fields, f)
		}
		d.Fields = fields
		vals := map[string]bool{}
		ev := d.EnumValues[:0]
		for _, v := range d.EnumValues {
			if vals[v.Name] {
				warnings = append(warnings, fmt.Sprintf("%s.%s is defined twice; the first definition is kept", d.Name, v.Name))
				continue
			}
			vals[v.Name] = true
			ev = append(ev, v)
		}
		d.EnumValues = ev
	}
	return warnings
}
