package mapper

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/lazy"
	"github.com/weftio/weft/store"
)

// Review statuses.
const (
	Proposed = "proposed"
	Accepted = "accepted"
	Edited   = "edited"
	Rejected = "rejected"
)

// Item is one target field's mapping under review.
type Item struct {
	Target     string   `json:"target"`
	Sources    []string `json:"sources"`
	Expr       string   `json:"expr"`
	Confidence float64  `json:"confidence"`
	Reason     string   `json:"reason"`
	Status     string   `json:"status"`
	Reviewer   string   `json:"reviewer,omitempty"`
	Note       string   `json:"note,omitempty"`
	ReviewedAt string   `json:"reviewed_at,omitempty"`
	History    []Event  `json:"history,omitempty"`
}

// Event is one review decision.
type Event struct {
	Status   string `json:"status"`
	Expr     string `json:"expr,omitempty"`
	Reviewer string `json:"reviewer,omitempty"`
	Note     string `json:"note,omitempty"`
	At       string `json:"at"`
}

// Mapping is a stored proposal and its review state.
type Mapping struct {
	ID                string                 `json:"id"`
	Name              string                 `json:"name"`
	Namespace         string                 `json:"namespace"` // the owner (the store's column is authoritative)
	Source            *Schema                `json:"source"`
	Target            *Schema                `json:"target"`
	Items             []*Item                `json:"items"`
	Candidates        map[string][]Candidate `json:"candidates,omitempty"`
	UnmatchedRequired []string               `json:"unmatched_required,omitempty"`
	CreatedAt         time.Time              `json:"created_at"`
	Warning           string                 `json:"warning,omitempty"`
	Rerank            *RerankReport          `json:"rerank,omitempty"` // what the language model re-ranker did, when one is configured
}

// Service runs the review workflow on a store; reviews feed the memory of
// their mapping's namespace. One namespace's reviews never move another's
// suggestions: each namespace has its own counts and its own collection in
// the vector index (whose points carry the reviewed field names).
type Service struct {
	st       store.Store
	idx      ai.VectorIndex
	memMu    sync.Mutex
	mems     map[string]*Memory // by namespace; nil: a service without review memory
	Embedder ai.Embedder
	Reranker *Reranker    // a language model re-ranking the top candidates (nil: off)
	Log      *slog.Logger // the re-ranker's fallbacks (nil: not logged)
}

// NewService returns the service, its memory rebuilt from every stored
// review, its reviewed pairs in an in-process vector index.
func NewService(ctx context.Context, st store.Store, e ai.Embedder) (*Service, error) {
	return NewServiceOn(ctx, st, e, nil)
}

// NewServiceOn is NewService with the memory's reviewed pairs in idx (nil:
// in process; Qdrant when WEFT_QDRANT_URL is set), embedded by e (nil: the
// builtin embedder). The stored reviews are written to idx again at start
// (the same point ids: a Qdrant that kept them is unchanged) at the first
// Memory.Sync or suggestion, so the memory survives a restart either way.
// An index that fails leaves the memory its exact rules (Memory.Err says
// why, and the next Sync tries again).
func NewServiceOn(ctx context.Context, st store.Store, e ai.Embedder, idx ai.VectorIndex) (*Service, error) {
	if idx == nil {
		idx = ai.NewMemoryIndex()
	}
	s := &Service{st: st, idx: idx, mems: map[string]*Memory{}, Embedder: e}
	docs, err := st.Mappings(ctx)
	if err != nil {
		return nil, err
	}
	def := s.MemoryIn(store.DefaultNamespace)
	for _, d := range docs {
		var m Mapping
		if json.Unmarshal(d.Doc, &m) == nil {
			m.Namespace = d.Namespace
			for _, it := range m.Items {
				if m.Namespace != store.DefaultNamespace {
					// Before namespaces had their own collections every
					// review was a point in the default one: a Qdrant
					// that kept such a point loses it now.
					def.Forget(reviewID(&m, it))
				}
				// A reviewed item that is no longer one pair leaves an
				// index that kept its point (deleting an unknown id is
				// nothing); proposed items never had one.
				s.remember(&m, it, it.Status != Proposed)
			}
		}
	}
	return s, nil
}

// MemoryIn is the review memory of a namespace ("": default); nil for a
// service without one.
func (s *Service) MemoryIn(namespace string) *Memory {
	if namespace == "" {
		namespace = store.DefaultNamespace
	}
	s.memMu.Lock()
	defer s.memMu.Unlock()
	if s.mems == nil {
		return nil
	}
	m := s.mems[namespace]
	if m == nil {
		m = NewMemoryOn(s.idx, s.Embedder)
		if namespace != store.DefaultNamespace {
			// The default namespace keeps the collection it always had.
			m.collection = ai.CollectionName(ReviewCollection+"_ns_"+namespace, m.emb.Name())
		}
		s.mems[namespace] = m
	}
	return m
}

// Sync writes every namespace's recorded reviews to the vector index; the
// first failure is returned after all were tried.
func (s *Service) Sync(ctx context.Context) error {
	s.memMu.Lock()
	mems := make([]*Memory, 0, len(s.mems))
	for _, m := range s.mems {
		mems = append(mems, m)
	}
	s.memMu.Unlock()
	var first error
	for _, m := range mems {
		if err := m.Sync(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// reviewID is an item's point in the memory's index: one per target
// field of a mapping, replaced when the item is reviewed again.
func reviewID(m *Mapping, it *Item) string { return m.ID + "\x00" + it.Target }

// remember feeds a reviewed item to the memory; forget: an item no longer
// one reviewed pair (proposed again, or several sources) leaves the index.
func (s *Service) remember(m *Mapping, it *Item, forget bool) {
	mem := s.MemoryIn(m.Namespace)
	if mem == nil {
		return
	}
	if len(it.Sources) != 1 || it.Status == Proposed {
		if forget {
			mem.Forget(reviewID(m, it))
		}
		return
	}
	sf, tf := fieldByPath(m.Source, it.Sources[0]), fieldByPath(m.Target, it.Target)
	if sf != nil && tf != nil {
		mem.RecordID(reviewID(m, it), sf, tf, it.Status != Rejected)
	} else if forget {
		mem.Forget(reviewID(m, it))
	}
}

func fieldByPath(sc *Schema, path string) *Field {
	if sc == nil {
		return nil
	}
	for i := range sc.Fields {
		if sc.Fields[i].Path == path {
			return &sc.Fields[i]
		}
	}
	return nil
}

// Create proposes a mapping in the default namespace and stores it for review.
func (s *Service) Create(ctx context.Context, name string, src, tgt *Schema, top int) (*Mapping, error) {
	return s.CreateIn(ctx, "", name, src, tgt, top)
}

// CreateIn is Create in a namespace ("": default).
func (s *Service) CreateIn(ctx context.Context, namespace, name string, src, tgt *Schema, top int) (*Mapping, error) {
	m, err := s.propose(ctx, namespace, name, src, tgt, top)
	if err != nil {
		return nil, err
	}
	return m, s.save(ctx, m)
}

// Propose is CreateIn without storing: the mapping has no ID.
func (s *Service) Propose(ctx context.Context, namespace, name string, src, tgt *Schema, top int) (*Mapping, error) {
	m, err := s.propose(ctx, namespace, name, src, tgt, top)
	if err != nil {
		return nil, err
	}
	m.ID = ""
	return m, nil
}

func (s *Service) propose(ctx context.Context, namespace, name string, src, tgt *Schema, top int) (*Mapping, error) {
	if namespace == "" {
		namespace = store.DefaultNamespace
	}
	mem := s.MemoryIn(namespace)
	res, err := Suggest(ctx, src, tgt, Options{Embedder: s.Embedder, Top: top, Memory: mem})
	warning := ""
	if err != nil && s.Embedder != nil && weft.Code(err) != weft.EInvalid {
		// The configured model is unreachable: the builtin embedder needs none.
		warning = fmt.Sprintf("the %s embedder failed (%v); suggestions use the builtin embedder", s.Embedder.Name(), err)
		res, err = Suggest(ctx, src, tgt, Options{Top: top, Memory: mem})
	}
	if err != nil {
		return nil, err
	}
	if mem != nil {
		if merr := mem.Err(); merr != nil {
			warning = strings.TrimPrefix(warning+"; "+merr.Error()+" (reviewed pairs count by their exact names only until it answers)", "; ")
		}
	}
	var rr *RerankReport
	if s.Reranker != nil && s.Reranker.Model != nil {
		res, rr = s.Reranker.Rerank(ctx, src, tgt, res)
		if rr.Fallback != "" {
			warning = strings.TrimPrefix(warning+"; re-ranker "+rr.Backend+": "+rr.Fallback, "; ")
			if s.Log != nil {
				s.Log.Warn("mapper re-ranker fell back to the builtin order", "backend", rr.Backend, "why", rr.Fallback)
			}
		}
	}
	if name == "" {
		name = src.Name + " -> " + tgt.Name
	}
	m := &Mapping{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Namespace: namespace, Source: src, Target: tgt, Candidates: res.Candidates,
		UnmatchedRequired: res.UnmatchedRequired, CreatedAt: time.Now().UTC(), Warning: warning, Rerank: rr}
	for _, sg := range res.Suggestions {
		m.Items = append(m.Items, &Item{Target: sg.Target, Sources: sg.Sources, Expr: sg.Expr, Confidence: sg.Confidence, Reason: sg.Reason, Status: Proposed})
	}
	return m, nil
}

func (s *Service) save(ctx context.Context, m *Mapping) error {
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.st.SaveMapping(ctx, store.MappingDoc{ID: m.ID, Name: m.Name, Namespace: m.Namespace, Doc: doc, CreatedAt: m.CreatedAt})
}

// Get loads a mapping.
func (s *Service) Get(ctx context.Context, id string) (*Mapping, error) {
	d, err := s.st.Mapping(ctx, id)
	if err != nil {
		return nil, err
	}
	var m Mapping
	if err := json.Unmarshal(d.Doc, &m); err != nil {
		return nil, weft.Errorf(weft.EInternal, "mapping %s does not decode: %v", id, err)
	}
	m.Namespace = d.Namespace
	return &m, nil
}

// List returns every mapping (without candidates).
func (s *Service) List(ctx context.Context) ([]map[string]any, error) {
	docs, err := s.st.Mappings(ctx)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, d := range docs {
		var m Mapping
		if json.Unmarshal(d.Doc, &m) != nil {
			continue
		}
		counts := map[string]int{}
		for _, it := range m.Items {
			counts[it.Status]++
		}
		out = append(out, map[string]any{"id": m.ID, "name": m.Name, "namespace": d.Namespace, "items": len(m.Items), "accepted": counts[Accepted] + counts[Edited],
			"rejected": counts[Rejected], "proposed": counts[Proposed], "updated_at": d.UpdatedAt})
	}
	return out, nil
}

// Review is one reviewer decision on a target field.
type Review struct {
	Target   string   `json:"target"`
	Action   string   `json:"action"` // accept | reject | edit
	Expr     string   `json:"expr,omitempty"`
	Sources  []string `json:"sources,omitempty"` // edit: the source fields the expression reads
	Reviewer string   `json:"reviewer,omitempty"`
	Note     string   `json:"note,omitempty"`
}

// Apply records reviews ("*" as target: every proposed item) and feeds
// them to the memory.
func (s *Service) Apply(ctx context.Context, id string, reviews []Review) (*Mapping, error) {
	m, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	for _, r := range reviews {
		var targets []*Item
		if r.Target == "*" {
			for _, it := range m.Items {
				if it.Status == Proposed {
					targets = append(targets, it)
				}
			}
		} else {
			it := findItem(m, r.Target)
			if it == nil && r.Action == "edit" {
				if fieldByPath(m.Target, r.Target) == nil {
					return nil, weft.Errorf(weft.ENotFound, "%s has no target field %q", m.Target.Name, r.Target)
				}
				it = &Item{Target: r.Target, Status: Proposed, Reason: "added by a reviewer"}
				m.Items = append(m.Items, it)
			}
			if it == nil {
				return nil, weft.Errorf(weft.ENotFound, "mapping %s has no suggestion for %q", id, r.Target)
			}
			targets = append(targets, it)
		}
		for _, it := range targets {
			switch r.Action {
			case "accept":
				it.Status = Accepted
			case "reject":
				it.Status = Rejected
			case "edit":
				if strings.TrimSpace(r.Expr) == "" {
					return nil, weft.Errorf(weft.EInvalid, "edit %s: give the CEL expression (over src)", it.Target)
				}
				if _, err := flow.CompileExpr(strings.ReplaceAll(r.Expr, "src.", "trigger.body."), "review"); err != nil && !strings.Contains(r.Expr, "it.") {
					return nil, weft.Errorf(weft.EUnprocessable, "edit %s: %v", it.Target, err)
				}
				it.Status, it.Expr = Edited, r.Expr
				if len(r.Sources) > 0 {
					it.Sources = r.Sources
				}
			default:
				return nil, weft.Errorf(weft.EInvalid, "action must be accept, reject or edit, got %q", r.Action)
			}
			it.Reviewer, it.Note, it.ReviewedAt = r.Reviewer, r.Note, now
			it.History = append(it.History, Event{Status: it.Status, Expr: r.Expr, Reviewer: r.Reviewer, Note: r.Note, At: now})
			s.remember(m, it, true)
		}
	}
	if err := s.save(ctx, m); err != nil {
		return nil, err
	}
	// The reviews are stored; the index catches up now or at the next
	// suggestion (a failure is kept in Memory.Err and retried).
	mem := s.MemoryIn(m.Namespace)
	if mem == nil {
		return m, nil
	}
	if err := mem.Sync(ctx); err != nil && s.Log != nil {
		s.Log.Warn("mapper review memory: the vector index failed; suggestions use its exact rules until it answers", "err", err)
	}
	return m, nil
}

func findItem(m *Mapping, target string) *Item {
	for _, it := range m.Items {
		if it.Target == target {
			return it
		}
	}
	return nil
}

// Export compiles the accepted and edited items into a flow set step that
// reads the source record at root (e.g. trigger.body or steps.get.body) and
// checks it like any flow: the YAML it returns deploys as is.
func (s *Service) Export(ctx context.Context, id, root, stepID string) (string, error) {
	m, err := s.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if root == "" {
		root = "trigger.body"
	}
	if stepID == "" {
		stepID = "mapped"
	}
	var items []*Item
	for _, it := range m.Items {
		if it.Status == Accepted || it.Status == Edited {
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return "", weft.Errorf(weft.EUnprocessable, "mapping %s has no accepted items to export (accept some first)", id)
	}
	tree := buildTree(items, root)
	set, err := tree.render(root)
	if err != nil {
		return "", err
	}
	doc := map[string]any{"id": stepID, "set": set}
	out, err := yaml.Marshal([]any{doc})
	if err != nil {
		return "", err
	}
	// Type-check: the step inside a flow that reads a webhook body.
	check := fmt.Sprintf("name: mapping_check\ntrigger: {webhook: {}}\nsteps:\n%s", indent(string(out)))
	if _, err := flow.Load(m.Name+".export.yaml", []byte(check), nil); err != nil {
		if !strings.HasPrefix(root, "steps.") {
			return "", weft.Errorf(weft.EUnprocessable, "the exported step does not check: %v", err)
		}
	}
	return string(out), nil
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// node is a target object under construction.
type node struct {
	leaf     string // expression
	children map[string]*node
	order    []string
	array    string // source array this node maps over (for "x[]" targets)
}

func buildTree(items []*Item, root string) *node {
	t := &node{children: map[string]*node{}}
	sort.Slice(items, func(a, b int) bool { return items[a].Target < items[b].Target })
	for _, it := range items {
		cur := t
		segs := strings.Split(it.Target, ".")
		for i, seg := range segs {
			arr := strings.HasSuffix(seg, "[]")
			key := strings.TrimSuffix(seg, "[]")
			child, ok := cur.children[key]
			if !ok {
				child = &node{children: map[string]*node{}}
				cur.children[key] = child
				cur.order = append(cur.order, key)
			}
			if arr && child.array == "" {
				child.array = sourceArray(it.Sources)
			}
			if i == len(segs)-1 && !arr {
				child.leaf = srcRe.ReplaceAllString(it.Expr, "${1}"+root)
			}
			cur = child
		}
	}
	return t
}

var srcRe = lazy.NewRegexp(`(^|[^A-Za-z0-9_.])src\b`)

// sourceArray is the source array path an item's first source is in.
func sourceArray(srcs []string) string {
	if len(srcs) == 0 {
		return ""
	}
	if i := strings.LastIndex(srcs[0], "[]"); i >= 0 {
		return srcs[0][:i]
	}
	return ""
}

// render turns the tree into the set step's value: leaves are "=expr",
// objects maps, and arrays a CEL map() over the source array.
func (n *node) render(root string) (any, error) {
	if n.leaf != "" && len(n.children) == 0 {
		return "=" + n.leaf, nil
	}
	if n.array != "" {
		var parts []string
		for _, k := range n.order {
			c := n.children[k]
			if c.leaf == "" {
				continue
			}
			parts = append(parts, fmt.Sprintf("%q: %s", k, c.leaf))
		}
		return fmt.Sprintf("=%s.map(it, {%s})", ref(root, n.array), strings.Join(parts, ", ")), nil
	}
	out := map[string]any{}
	for _, k := range n.order {
		v, err := n.children[k].render(root)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}
