package odata

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/lazy"
)

// Rejection is something of the document that did not become an operation.
type Rejection struct {
	Operation string `json:"operation"`
	Reason    string `json:"reason"`
}

// Report says what an import did.
type Report struct {
	Title      string        `json:"title"`
	Version    string        `json:"version"`
	Found      int           `json:"found"` // operations the document declares (entity-set verbs, navigations, functions, actions), skipped ones included
	Imported   int           `json:"imported"`
	Rejected   []Rejection   `json:"rejected,omitempty"`
	Skipped    []Rejection   `json:"skipped,omitempty"` // verbs the service declares unsupported (sap:creatable="false", Capabilities)
	Warnings   []string      `json:"warnings,omitempty"`
	Duration   time.Duration `json:"duration"`
	SourceKind string        `json:"source_kind"` // odata-v2, odata-v3, odata-v4
}

// MaxNameLen bounds operation names (MCP tool names).
const MaxNameLen = 64

// maxOperations bounds what one document may turn into.
const maxOperations = 20000

var nameRe = lazy.NewRegexp(`[^A-Za-z0-9-]+`)

// Sniff reports whether data looks like an OData $metadata document
// (EDMX XML or JSON CSDL), so an import can choose its reader.
func Sniff(data []byte) bool {
	head := data
	if len(head) > 4096 {
		head = head[:4096]
	}
	s := string(head)
	return strings.Contains(s, "<edmx:Edmx") || strings.Contains(s, "<Edmx") ||
		(strings.Contains(s, "\"$Version\"") && bytes.Contains(data, []byte("\"$EntityContainer\"")))
}

// Import builds connector name from a $metadata document. request is the
// http connector's request operation that calls go through.
func Import(name string, data []byte, request *connectors.Operation) (*connectors.Connector, *Report, error) {
	start := time.Now()
	m, err := Parse(data, DefaultLimits)
	if err != nil {
		return nil, nil, err
	}
	b := &builder{m: m, rt: &runtime{m: m, request: request}, used: map[string]bool{}, rep: &Report{Version: m.Version}}
	major := m.Version
	if i := strings.Index(major, "."); i > 0 {
		major = major[:i]
	}
	b.rep.SourceKind = "odata-v" + major
	b.rep.Title = m.Container
	if b.rep.Title == "" && len(m.Namespaces) > 0 {
		b.rep.Title = m.Namespaces[0]
	}
	c := &connectors.Connector{Name: name, Title: b.rep.Title, Version: m.Version,
		Description: fmt.Sprintf("Imported from OData v%s $metadata: %s", m.Version, b.rep.Title),
		Config: map[string]any{"type": "object", "properties": map[string]any{
			"sap_client": map[string]any{"type": "string", "description": "SAP client (sent as sap-client on every request)"},
			"csrf":       map[string]any{"type": "boolean", "description": "fetch an x-csrf-token before changing requests (default: on for v2 services; a 403 always triggers one fetch and retry)"},
		}}}
	b.c = c
	for _, s := range m.EntitySets {
		b.entitySet(s)
	}
	for _, s := range m.Singletons {
		b.singleton(s)
	}
	for _, fn := range m.Callables {
		b.callable(fn)
	}
	b.batchOperation()
	b.rep.Warnings = append(b.rep.Warnings, m.Warnings...)
	b.rep.Imported = len(c.Operations)
	b.rep.Duration = time.Since(start)
	return c, b.rep, nil
}

type builder struct {
	m    *Model
	rt   *runtime
	c    *connectors.Connector
	used map[string]bool
	rep  *Report
}

func (b *builder) reject(op, why string) {
	b.rep.Found++
	b.rep.Rejected = append(b.rep.Rejected, Rejection{Operation: op, Reason: why})
}

func (b *builder) skip(op, why string) {
	b.rep.Found++
	b.rep.Skipped = append(b.rep.Skipped, Rejection{Operation: op, Reason: why})
}

func (b *builder) name(n string) string {
	n = strings.Trim(nameRe.ReplaceAllString(n, "_"), "_-")
	if n == "" {
		n = "op"
	}
	n = connectors.ShortName(n, n, MaxNameLen)
	if !b.used[n] {
		b.used[n] = true
		return n
	}
	for i := 2; ; i++ {
		c := connectors.ShortName(fmt.Sprintf("%s_%d", n, i), fmt.Sprintf("%s#%d", n, i), MaxNameLen)
		if !b.used[c] {
			b.used[c] = true
			return c
		}
	}
}

func (b *builder) add(o *connectors.Operation) {
	b.rep.Found++
	if len(b.c.Operations) >= maxOperations {
		b.rep.Rejected = append(b.rep.Rejected, Rejection{Operation: o.Name, Reason: fmt.Sprintf("more than %d operations", maxOperations)})
		return
	}
	b.c.Operations = append(b.c.Operations, o)
}

func label(s *EntitySet, t *EntityType) string {
	if s.Label != "" {
		return s.Label
	}
	if t != nil && t.Label != "" {
		return t.Label
	}
	return ""
}

func describe(verb, set, lbl string) string {
	if lbl != "" && !strings.EqualFold(lbl, set) {
		return verb + " " + set + " (" + lbl + ")"
	}
	return verb + " " + set
}

// keyInputs adds the entity's key properties as required inputs.
func (b *builder) keyInputs(t *EntityType, props map[string]any, req *[]any, prefix string) {
	for _, k := range t.Key {
		s := map[string]any{"type": "string"}
		if p := t.Prop(k); p != nil {
			s = b.m.propSchema(p, 0, map[string]bool{})
		}
		props[prefix+k] = s
		*req = append(*req, prefix+k)
	}
}

// queryInputs adds the query options of a list of t's entities.
func (b *builder) queryInputs(t *EntityType, props map[string]any, set *EntitySet) {
	var filterable, sortable, selectable []any
	for _, p := range t.Props {
		selectable = append(selectable, p.Name)
		if _, err := b.m.Literal(p.Type, nil); err == nil && p.Filterable && literalType(b.m, p.Type) {
			filterable = append(filterable, p.Name)
		}
		if p.Sortable {
			sortable = append(sortable, p.Name)
		}
	}
	if len(filterable) > 0 {
		props["filter"] = map[string]any{"type": "array", "description": "conditions that must all hold ($filter, built and escaped by Weft)",
			"items": map[string]any{"type": "object", "required": []any{"property"}, "additionalProperties": false, "properties": map[string]any{
				"property": map[string]any{"enum": filterable},
				"op":       map[string]any{"enum": filterOps, "default": "eq"},
				"value":    map[string]any{"description": "a value of the property's type (a list for in)"},
			}}}
	}
	if len(selectable) > 0 {
		props["select"] = map[string]any{"type": "array", "items": map[string]any{"enum": selectable}, "description": "properties to return ($select)"}
	}
	if len(t.Navs) > 0 {
		props["expand"] = map[string]any{"type": "array", "items": map[string]any{"enum": navNames(t)}, "description": "related entities to include ($expand)"}
	}
	if len(sortable) > 0 {
		props["orderby"] = map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "\"Property\" or \"Property desc\" ($orderby); sortable: " + joinAny(sortable, 20)}
	}
	if set == nil || set.Pageable {
		props["top"] = map[string]any{"type": "integer", "minimum": 0, "description": "at most this many ($top)"}
		props["skip"] = map[string]any{"type": "integer", "minimum": 0, "description": "skip this many ($skip)"}
	}
	if set == nil || set.Countable {
		props["count"] = map[string]any{"type": "boolean", "description": "include the total count ($count / $inlinecount)"}
	}
	if !b.m.V2() {
		props["include_annotations"] = map[string]any{"type": "string", "description": "instance annotations to include (Prefer: odata.include-annotations), e.g. OData.Community.Display.V1.FormattedValue for Dataverse's formatted values, or *"}
	}
	if !b.m.V2() || (set != nil && set.Searchable) {
		props["search"] = map[string]any{"type": "string", "description": "free-text search ($search; SAP v2: search)"}
	}
	props["fetch_all"] = map[string]any{"type": "boolean", "description": "follow the server's next links (@odata.nextLink / __next) and return every item"}
	props["max_items"] = map[string]any{"type": "integer", "minimum": 1, "description": "with fetch_all: stop after this many items (default 10000)"}
}

func literalType(m *Model, t string) bool {
	if strings.HasPrefix(t, "Edm.") {
		_, err := m.Literal(t, sampleValue(t))
		return err == nil
	}
	_, ok := m.EnumTypes[t]
	return ok
}

func sampleValue(t string) any {
	switch t {
	case "Edm.Boolean":
		return true
	case "Edm.Guid":
		return "00000000-0000-0000-0000-000000000000"
	case "Edm.DateTime":
		return "2000-01-01T00:00:00"
	case "Edm.DateTimeOffset":
		return "2000-01-01T00:00:00Z"
	case "Edm.Date":
		return "2000-01-01"
	case "Edm.TimeOfDay":
		return "00:00:00"
	case "Edm.Time", "Edm.Duration":
		return "PT0S"
	case "Edm.String":
		return "x"
	}
	return float64(1)
}

func joinAny(xs []any, n int) string {
	var s []string
	for i, x := range xs {
		if i == n {
			s = append(s, "…")
			break
		}
		s = append(s, fmt.Sprint(x))
	}
	return strings.Join(s, ", ")
}

func navNames(t *EntityType) []any {
	out := make([]any, 0, len(t.Navs))
	for _, n := range t.Navs {
		out = append(out, n.Name)
	}
	return out
}

// bodyInputs adds t's properties (and navigation properties, for deep
// insert) as inputs of a create or update; keys and properties the
// service marks as not creatable/updatable are left out.
func (b *builder) bodyInputs(t *EntityType, props map[string]any, create bool) map[string]bool {
	body := map[string]bool{}
	for _, p := range t.Props {
		if _, isKey := props[p.Name]; isKey {
			continue
		}
		if p.Computed || (create && !p.Creatable) || (!create && !p.Updatable) {
			continue
		}
		props[p.Name] = b.m.propSchema(p, 0, map[string]bool{})
		body[p.Name] = true
	}
	if !b.m.V2() && len(t.Navs) > 0 {
		bp := map[string]any{}
		for _, n := range t.Navs {
			if n.Collection {
				bp[n.Name] = map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "existing " + n.Target + " entities to link, as Set(key)"}
			} else {
				bp[n.Name] = map[string]any{"type": "string", "description": "an existing " + n.Target + " to link, as Set(key) (a lookup)"}
			}
		}
		props["bind"] = map[string]any{"type": "object", "properties": bp, "additionalProperties": false,
			"description": "link existing entities by navigation property (sent as Nav@odata.bind; Dataverse lookups)"}
		body["bind"] = true
	}
	if create {
		for _, n := range t.Navs {
			if _, taken := props[n.Name]; taken {
				continue
			}
			if n.Collection {
				props[n.Name] = map[string]any{"type": "array", "items": map[string]any{"type": "object"}, "description": "deep insert: related " + n.Target + " entities created with this one"}
			} else {
				props[n.Name] = map[string]any{"type": "object", "description": "deep insert: the related " + n.Target + " created with this one"}
			}
			body[n.Name] = true
		}
	}
	return body
}

func input(props map[string]any, req []any) map[string]any {
	in := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(req) > 0 {
		in["required"] = req
	}
	return in
}

func listOutput(item map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": map[string]any{
		"value":     map[string]any{"type": "array", "items": item},
		"count":     map[string]any{"type": "integer", "description": "the total count, when count was asked"},
		"next_link": map[string]any{"type": "string", "description": "the server's link to the next page, if any"},
	}}
}

var (
	readHints    = connectors.Hints{ReadOnly: true, Idempotent: true, OpenWorld: true}
	createHints  = connectors.Hints{OpenWorld: true}
	updateHints  = connectors.Hints{Idempotent: true, OpenWorld: true}
	deleteHints  = connectors.Hints{Destructive: true, Idempotent: true, OpenWorld: true}
	actionHints  = connectors.Hints{OpenWorld: true}
	functionHint = connectors.Hints{ReadOnly: true, OpenWorld: true}
)

func (b *builder) entitySet(s *EntitySet) {
	t, ok := b.m.EntityTypes[s.Type]
	if !ok {
		b.reject(s.Name, "entity type "+s.Type+" is not defined")
		return
	}
	lbl := label(s, t)
	item := b.m.EntitySchema(t)
	tags := []string{s.Name}
	// list
	{
		props := map[string]any{}
		b.queryInputs(t, props, s)
		o := &connectors.Operation{Name: b.name("list_" + s.Name), Title: describe("List", s.Name, lbl),
			Description: describe("List", s.Name, lbl) + " entities; filter, select, expand, order and page (OData " + s.Type + ")",
			Input:       input(props, nil), Output: listOutput(item), Hints: readHints, Tags: tags}
		o.Invoke = b.rt.list(o.Name, t, s, func(map[string]any) (string, error) { return "/" + s.Name, nil })
		b.add(o)
		if len(t.Key) == 1 {
			tr := connectors.Trigger{Name: o.Name, Operation: o.Name, Items: "body.value",
				Description: "New " + s.Name + " entities", Key: t.Key[0], Cursor: t.Key[0]}
			if ts := serverTimestamp(t); ts != "" {
				tr.Cursor, tr.Description = ts, "New or changed "+s.Name+" entities"
			}
			b.c.Triggers = append(b.c.Triggers, tr)
		}
	}
	if len(t.Key) == 0 {
		b.reject("get/update/delete "+s.Name, "entity type "+t.Name+" declares no key")
	} else {
		keyPath := func(in map[string]any) (string, error) {
			k, err := b.m.keyPredicate(t, in, "")
			return "/" + s.Name + k, err
		}
		// get
		props, req := map[string]any{}, []any{}
		b.keyInputs(t, props, &req, "")
		props["select"] = map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "properties to return ($select)"}
		if len(t.Navs) > 0 {
			props["expand"] = map[string]any{"type": "array", "items": map[string]any{"enum": navNames(t)}, "description": "related entities to include ($expand)"}
		}
		if !b.m.V2() {
			props["include_annotations"] = map[string]any{"type": "string", "description": "instance annotations to include (Prefer: odata.include-annotations), e.g. OData.Community.Display.V1.FormattedValue or *"}
		}
		o := &connectors.Operation{Name: b.name("get_" + s.Name), Title: describe("Get", s.Name, lbl), Description: describe("Get one", s.Name, lbl) + " entity by key; its ETag comes back as @odata.etag",
			Input: input(props, req), Output: item, Hints: readHints, Tags: tags}
		o.Invoke = b.rt.get(o.Name, t, keyPath)
		b.add(o)
		if t.HasStream {
			b.media(s, t, keyPath, lbl)
		}
		// navigation properties
		for _, nv := range t.Navs {
			b.navigation(s, t, nv, keyPath, lbl)
		}
		// create
		if !s.Creatable {
			b.skip("create_"+s.Name, "the service marks the entity set not creatable")
		} else {
			props, req := map[string]any{}, []any{}
			body := b.bodyInputs(t, props, true)
			for _, k := range t.Key { // keys are given on create unless computed
				if p := t.Prop(k); p != nil && !p.Computed && p.Creatable {
					props[k] = b.m.propSchema(p, 0, map[string]bool{})
					body[k] = true
				}
			}
			b.asyncProp(props)
			o := &connectors.Operation{Name: b.name("create_" + s.Name), Title: describe("Create", s.Name, lbl), Description: describe("Create a", s.Name, lbl) + " entity (nested related entities are a deep insert)",
				Input: input(props, req), Output: item, Hints: createHints, Tags: tags}
			o.Invoke = b.rt.write(o.Name, "POST", body, t, func(map[string]any) (string, error) { return "/" + s.Name, nil })
			b.add(o)
		}
		// update
		if !s.Updatable {
			b.skip("update_"+s.Name, "the service marks the entity set not updatable")
		} else {
			props, req := map[string]any{}, []any{}
			b.keyInputs(t, props, &req, "")
			body := b.bodyInputs(t, props, false)
			props["if_match"] = map[string]any{"type": "string", "description": "the ETag read with the entity (@odata.etag); a stale one fails with 412"}
			b.asyncProp(props)
			o := &connectors.Operation{Name: b.name("update_" + s.Name), Title: describe("Update", s.Name, lbl), Description: describe("Update a", s.Name, lbl) + " entity (only the given properties change; If-Match from if_match)",
				Input: input(props, req), Output: item, Hints: updateHints, Tags: tags}
			o.Invoke = b.rt.write(o.Name, "PATCH", body, t, keyPath)
			b.add(o)
		}
		// delete
		if !s.Deletable {
			b.skip("delete_"+s.Name, "the service marks the entity set not deletable")
		} else {
			props, req := map[string]any{}, []any{}
			b.keyInputs(t, props, &req, "")
			props["if_match"] = map[string]any{"type": "string", "description": "the ETag read with the entity; a stale one fails with 412"}
			b.asyncProp(props)
			o := &connectors.Operation{Name: b.name("delete_" + s.Name), Title: describe("Delete", s.Name, lbl), Description: describe("Delete a", s.Name, lbl) + " entity by key",
				Input: input(props, req), Hints: deleteHints, Tags: tags}
			o.Invoke = b.rt.write(o.Name, "DELETE", map[string]bool{}, t, keyPath)
			b.add(o)
		}
	}
}

func (b *builder) navigation(s *EntitySet, t *EntityType, nv *NavProperty, keyPath func(map[string]any) (string, error), lbl string) {
	target, ok := b.m.EntityTypes[nv.Target]
	if !ok {
		b.reject(s.Name+"/"+nv.Name, "navigation target "+nv.Target+" is not an entity type of the document")
		return
	}
	props, req := map[string]any{}, []any{}
	b.keyInputs(t, props, &req, "")
	path := func(in map[string]any) (string, error) {
		p, err := keyPath(in)
		return p + "/" + nv.Name, err
	}
	item := b.m.EntitySchema(target)
	if nv.Collection {
		for _, k := range []string{"filter", "select", "expand", "orderby", "top", "skip", "count", "search", "fetch_all", "max_items"} {
			if _, clash := props[k]; clash {
				b.reject(s.Name+"/"+nv.Name, "a key property is named "+k)
				return
			}
		}
		b.queryInputs(target, props, nil)
		o := &connectors.Operation{Name: b.name("list_" + s.Name + "_" + nv.Name), Title: describe("List", s.Name+" "+nv.Name, ""),
			Description: "List the " + nv.Name + " (" + strings.TrimPrefix(nv.Target, target.Namespace+".") + ") of one " + describe("", s.Name, lbl)[1:] + " entity",
			Input:       input(props, req), Output: listOutput(item), Hints: readHints, Tags: []string{s.Name}}
		o.Invoke = b.rt.list(o.Name, target, nil, path)
		b.add(o)
		if nv.Contains {
			b.contained(s, t, nv, target, keyPath)
		}
		return
	}
	o := &connectors.Operation{Name: b.name("get_" + s.Name + "_" + nv.Name), Title: describe("Get", s.Name+" "+nv.Name, ""),
		Description: "Get the " + nv.Name + " (" + strings.TrimPrefix(nv.Target, target.Namespace+".") + ") of one " + describe("", s.Name, lbl)[1:] + " entity",
		Input:       input(props, req), Output: item, Hints: readHints, Tags: []string{s.Name}}
	o.Invoke = b.rt.get(o.Name, target, path)
	b.add(o)
}

// media adds the stream operations of a media entity (HasStream): read
// and replace its bytes at /S(key)/$value, as base64.
func (b *builder) media(s *EntitySet, t *EntityType, keyPath func(map[string]any) (string, error), lbl string) {
	tags := []string{s.Name}
	props, req := map[string]any{}, []any{}
	b.keyInputs(t, props, &req, "")
	out := map[string]any{"type": "object", "properties": map[string]any{
		"status": map[string]any{"type": "integer"}, "headers": map[string]any{"type": "object", "description": "content-type says what the bytes are"},
		"body":          map[string]any{"type": "string", "description": "the stream: base64 when body_encoding is base64, else text"},
		"body_encoding": map[string]any{"enum": []any{"base64"}}}}
	o := &connectors.Operation{Name: b.name("get_" + s.Name + "_media"), Title: describe("Get media of", s.Name, lbl),
		Description: describe("Download the media stream of one", s.Name, lbl) + " entity ($value)",
		Input:       input(props, req), Output: out, Hints: readHints, Tags: tags}
	o.Invoke = b.rt.media(o.Name, "GET", t, keyPath)
	b.add(o)
	if !s.Updatable {
		b.skip("update_"+s.Name+"_media", "the service marks the entity set not updatable")
		return
	}
	props, req = map[string]any{}, []any{}
	b.keyInputs(t, props, &req, "")
	for _, k := range []string{"content_base64", "content_type", "if_match"} {
		if _, clash := props[k]; clash {
			b.reject("update_"+s.Name+"_media", "a key property is named "+k)
			return
		}
	}
	props["content_base64"] = map[string]any{"type": "string", "contentEncoding": "base64", "description": "the new stream's bytes"}
	props["content_type"] = map[string]any{"type": "string", "description": "its media type (default application/octet-stream)"}
	props["if_match"] = map[string]any{"type": "string", "description": "the ETag read with the entity; a stale one fails with 412"}
	req = append(req, "content_base64")
	o = &connectors.Operation{Name: b.name("update_" + s.Name + "_media"), Title: describe("Replace media of", s.Name, lbl),
		Description: describe("Upload a new media stream for one", s.Name, lbl) + " entity (PUT $value)",
		Input:       input(props, req), Hints: updateHints, Tags: tags}
	o.Invoke = b.rt.media(o.Name, "PUT", t, keyPath)
	b.add(o)
}

// contained adds get / update / delete of one contained entity by its
// key, addressed through its parent (/People('x')/Trips(1)): a contained
// entity has no entity set of its own, so this is the only way to it.
// The target's key inputs are prefixed with the navigation's name
// (Trips_TripId), as for the operations bound to it.
func (b *builder) contained(s *EntitySet, t *EntityType, nv *NavProperty, target *EntityType, keyPath func(map[string]any) (string, error)) {
	if len(target.Key) == 0 {
		b.reject("get/update/delete "+s.Name+"/"+nv.Name, "contained type "+target.Name+" declares no key")
		return
	}
	prefix := nv.Name + "_" // as the operations bound to a contained entity name its key
	keyInputs := func() (map[string]any, []any, []string) {
		props, req := map[string]any{}, []any{}
		b.keyInputs(t, props, &req, "")
		b.keyInputs(target, props, &req, prefix)
		names := append([]string(nil), t.Key...)
		for _, k := range target.Key {
			names = append(names, prefix+k)
		}
		return props, req, names
	}
	path := func(in map[string]any) (string, error) {
		parent := map[string]any{}
		for _, k := range t.Key {
			if v, ok := in[k]; ok {
				parent[k] = v
			}
		}
		p, err := keyPath(parent)
		if err != nil {
			return "", err
		}
		k, err := b.m.keyPredicate(target, in, prefix)
		return p + "/" + nv.Name + k, err
	}
	of := " of one " + describe("", s.Name, "")[1:] + " entity, by its key"
	ttl := strings.TrimPrefix(nv.Target, target.Namespace+".")
	tags := []string{s.Name}
	// get
	props, req, _ := keyInputs()
	props["select"] = map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "properties to return ($select)"}
	if len(target.Navs) > 0 {
		props["expand"] = map[string]any{"type": "array", "items": map[string]any{"enum": navNames(target)}, "description": "related entities to include ($expand)"}
	}
	props["include_annotations"] = map[string]any{"type": "string", "description": "instance annotations to include (Prefer: odata.include-annotations)"}
	o := &connectors.Operation{Name: b.name("get_" + s.Name + "_" + nv.Name), Title: describe("Get", s.Name+" "+nv.Name, ""),
		Description: "Get one of the " + nv.Name + " (" + ttl + ")" + of + "; its ETag comes back as @odata.etag",
		Input:       input(props, req), Output: b.m.EntitySchema(target), Hints: readHints, Tags: tags}
	o.Invoke = b.rt.get(o.Name, target, path)
	b.add(o)
	// update
	props, req, names := keyInputs()
	body := b.bodyInputs(target, props, false)
	for k := range body {
		for _, n := range names {
			if k == n {
				b.reject("update_"+s.Name+"_"+nv.Name, "a property of "+target.Name+" is named like a key input ("+k+")")
				return
			}
		}
	}
	props["if_match"] = map[string]any{"type": "string", "description": "the ETag read with the entity (@odata.etag); a stale one fails with 412"}
	b.asyncProp(props)
	o = &connectors.Operation{Name: b.name("update_" + s.Name + "_" + nv.Name), Title: describe("Update", s.Name+" "+nv.Name, ""),
		Description: "Update one of the " + nv.Name + " (" + ttl + ")" + of + " (only the given properties change; If-Match from if_match)",
		Input:       input(props, req), Output: b.m.EntitySchema(target), Hints: updateHints, Tags: tags}
	o.Invoke = b.rt.writeKeys(o.Name, "PATCH", body, target, names, path)
	b.add(o)
	// delete
	props, req, names = keyInputs()
	props["if_match"] = map[string]any{"type": "string", "description": "the ETag read with the entity; a stale one fails with 412"}
	b.asyncProp(props)
	o = &connectors.Operation{Name: b.name("delete_" + s.Name + "_" + nv.Name), Title: describe("Delete", s.Name+" "+nv.Name, ""),
		Description: "Delete one of the " + nv.Name + " (" + ttl + ")" + of,
		Input:       input(props, req), Hints: deleteHints, Tags: tags}
	o.Invoke = b.rt.writeKeys(o.Name, "DELETE", map[string]bool{}, target, names, path)
	b.add(o)
}

func (b *builder) singleton(s *EntitySet) {
	t, ok := b.m.EntityTypes[s.Type]
	if !ok {
		b.reject(s.Name, "singleton type "+s.Type+" is not defined")
		return
	}
	path := func(map[string]any) (string, error) { return "/" + s.Name, nil }
	props := map[string]any{"select": map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}
	if len(t.Navs) > 0 {
		props["expand"] = map[string]any{"type": "array", "items": map[string]any{"enum": navNames(t)}}
	}
	o := &connectors.Operation{Name: b.name("get_" + s.Name), Title: "Get " + s.Name, Description: "Get the " + s.Name + " singleton (" + t.Name + ")",
		Input: input(props, nil), Output: b.m.EntitySchema(t), Hints: readHints, Tags: []string{s.Name}}
	o.Invoke = b.rt.get(o.Name, t, path)
	b.add(o)
	props = map[string]any{"if_match": map[string]any{"type": "string"}}
	body := b.bodyInputs(t, props, false)
	u := &connectors.Operation{Name: b.name("update_" + s.Name), Title: "Update " + s.Name, Description: "Update the " + s.Name + " singleton (" + t.Name + ")",
		Input: input(props, nil), Output: b.m.EntitySchema(t), Hints: updateHints, Tags: []string{s.Name}}
	u.Invoke = b.rt.write(u.Name, "PATCH", body, t, path)
	b.add(u)
}

// asyncProp offers respond_async on a v4 service's changing operation
// (v2 has no asynchronous requests), unless a parameter or property
// already has that name.
func (b *builder) asyncProp(props map[string]any) {
	if b.m.V2() {
		return
	}
	if _, clash := props[asyncInput]; clash {
		return
	}
	props[asyncInput] = map[string]any{"type": "boolean", "description": "ask the service to run the request in the background (Prefer: respond-async) and wait for it, polling the status monitor of its 202 Accepted, as one step"}
}

func (b *builder) callable(fn *Callable) {
	props, req := map[string]any{}, []any{}
	for _, p := range fn.Params {
		if p.Name == "" {
			continue
		}
		props[p.Name] = b.m.typeSchema(p.Type, 0, map[string]bool{})
		if !p.Nullable {
			req = append(req, p.Name)
		}
	}
	if fn.Kind == "action" {
		b.asyncProp(props)
	}
	var output map[string]any
	if fn.Returns != "" {
		if in, coll := collectionOf(fn.Returns); coll {
			if et, ok := b.m.EntityTypes[in]; ok {
				output = listOutput(b.m.EntitySchema(et))
			} else {
				output = listOutput(b.m.typeSchema(in, 0, map[string]bool{}))
			}
		} else if et, ok := b.m.EntityTypes[fn.Returns]; ok {
			output = b.m.EntitySchema(et)
		} else {
			output = b.m.typeSchema(fn.Returns, 0, map[string]bool{})
		}
	}
	hints := actionHints
	if fn.Kind == "function" {
		hints = functionHint
	}
	kindWord := map[string]string{"function": "Function", "action": "Action"}[fn.Kind]
	desc := kindWord + " " + fn.Short
	if fn.Label != "" {
		desc += " (" + fn.Label + ")"
	}
	if fn.BoundTo == "" {
		o := &connectors.Operation{Name: b.name(fn.Short), Title: kindWord + " " + fn.Short, Description: desc,
			Input: input(props, req), Output: output, Hints: hints, Tags: []string{"functions"}}
		o.Invoke = b.rt.call(o.Name, fn, func(map[string]any) (string, error) { return "/" + fn.Name, nil })
		b.add(o)
		return
	}
	// Bound: one operation per entity set of the binding type.
	bound, coll := collectionOf(fn.BoundTo)
	n := 0
	for _, s := range b.m.EntitySets {
		if s.Type != bound {
			continue
		}
		t := b.m.EntityTypes[s.Type]
		if t == nil {
			continue
		}
		n++
		p2 := map[string]any{}
		for k, v := range props {
			p2[k] = v
		}
		r2 := append([]any(nil), req...)
		var path func(map[string]any) (string, error)
		if coll {
			path = func(map[string]any) (string, error) { return "/" + s.Name + "/" + fn.Name, nil }
		} else {
			for _, k := range t.Key {
				if _, clash := p2[k]; clash {
					b.reject(s.Name+"/"+fn.Name, "a parameter has the name of key "+k)
					return
				}
			}
			b.keyInputs(t, p2, &r2, "")
			path = func(in map[string]any) (string, error) {
				k, err := b.m.keyPredicate(t, in, "")
				return "/" + s.Name + k + "/" + fn.Name, err
			}
		}
		on := "one " + s.Name + " entity"
		if coll {
			on = "the " + s.Name + " collection"
		}
		o := &connectors.Operation{Name: b.name(s.Name + "_" + fn.Short), Title: kindWord + " " + fn.Short + " on " + s.Name, Description: desc + ", bound to " + on,
			Input: input(p2, r2), Output: output, Hints: hints, Tags: []string{s.Name}}
		keys := map[string]bool{}
		if !coll {
			for _, k := range t.Key {
				keys[k] = true
			}
		}
		o.Invoke = b.rt.callBound(o.Name, fn, keys, path)
		b.add(o)
	}
	if n == 0 {
		n = b.containedCallable(fn, bound, coll, props, req, output, hints, desc, kindWord)
	}
	if n == 0 {
		b.reject(fn.Name, "bound to "+fn.BoundTo+", which no entity set holds or navigation reaches")
	}
}

// containedCallable builds operations for a function or action bound to
// a type that only navigation reaches (v4 containment: TripPin's Trip
// under People): /S(key)/N(key)/NS.Name, the child's keys prefixed by
// the navigation's name. It returns how many it built.
func (b *builder) containedCallable(fn *Callable, bound string, coll bool, props map[string]any, req []any, output map[string]any, hints connectors.Hints, desc, kindWord string) int {
	child, ok := b.m.EntityTypes[bound]
	if !ok {
		return 0
	}
	n := 0
	for _, s := range b.m.EntitySets {
		t := b.m.EntityTypes[s.Type]
		if t == nil || len(t.Key) == 0 {
			continue
		}
		for _, nv := range t.Navs {
			if nv.Target != bound || (!coll && nv.Collection && len(child.Key) == 0) {
				continue
			}
			p2 := map[string]any{}
			for k, v := range props {
				p2[k] = v
			}
			r2 := append([]any(nil), req...)
			clash := false
			for _, k := range t.Key {
				if _, c := p2[k]; c {
					clash = true
				}
			}
			if clash {
				continue
			}
			b.keyInputs(t, p2, &r2, "")
			keys := map[string]bool{}
			for _, k := range t.Key {
				keys[k] = true
			}
			prefix := nv.Name + "_"
			withChildKey := !coll && nv.Collection
			if withChildKey {
				b.keyInputs(child, p2, &r2, prefix)
				for _, k := range child.Key {
					keys[prefix+k] = true
				}
			}
			s, t, nv := s, t, nv
			path := func(in map[string]any) (string, error) {
				k, err := b.m.keyPredicate(t, in, "")
				if err != nil {
					return "", err
				}
				p := "/" + s.Name + k + "/" + nv.Name
				if withChildKey {
					ck, err := b.m.keyPredicate(child, in, prefix)
					if err != nil {
						return "", err
					}
					p += ck
				}
				return p + "/" + fn.Name, nil
			}
			o := &connectors.Operation{Name: b.name(s.Name + "_" + nv.Name + "_" + fn.Short), Title: kindWord + " " + fn.Short + " on " + s.Name + " " + nv.Name,
				Description: desc + ", bound to " + nv.Name + " of one " + s.Name + " entity", Input: input(p2, r2), Output: output, Hints: hints, Tags: []string{s.Name}}
			o.Invoke = b.rt.callBound(o.Name, fn, keys, path)
			b.add(o)
			n++
		}
	}
	return n
}

// sortedInputs lists an input map's keys in order (deterministic requests).
func sortedInputs(in map[string]any) []string {
	out := make([]string, 0, len(in))
	for k := range in {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Register imports a $metadata document as connector name into cat,
// calling through cat's http.request operation. Built-in connectors
// cannot be replaced.
func Register(cat *connectors.Catalog, name string, data []byte) (*Report, error) {
	return connectors.RegisterImport(cat, name, func(request *connectors.Operation) (*connectors.Connector, *Report, error) {
		return Import(name, data, request)
	})
}

// serverTimestamp is the property a poll trigger orders by: a date-time
// the service maintains itself (Core.Computed, or neither creatable nor
// updatable), the last one declared when there are several (services
// declare "created" before "changed"); "" when there is none.
func serverTimestamp(t *EntityType) string {
	out := ""
	for _, p := range t.Props {
		if (p.Type == "Edm.DateTimeOffset" || p.Type == "Edm.DateTime") && (p.Computed || (!p.Creatable && !p.Updatable)) {
			out = p.Name
		}
	}
	return out
}
