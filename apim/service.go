package apim

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// productTTL is how long a process serves a product as it last read it:
// a change saved by another process is served within this (one read of
// the store per product per TTL, not per request).
const productTTL = time.Second

// Service keeps products in the store and their compiled versions in
// memory, by revision.
type Service struct {
	st        store.Products
	consumers store.Consumers // nil: no consumers (products with auth: api_key answer 503)
	flows     Flows
	issuers   map[string]*JWTVerifier // by name (auth: jwt)
	now       func() time.Time
	lastSweep atomic.Int64  // when this process last forgot expired nonces (Unix ns)
	verified  verifiedCache // credentials this process verified (verified.go)

	mu       sync.Mutex
	products map[string]cachedProduct
	routes   map[string]*Routes // "product/version" compiled at a revision
}

type cachedProduct struct {
	p  *Product
	at time.Time
}

// NewService returns the service over st, compiling pins with flows.
// Consumers, plans and keys are kept by st too when it implements
// store.Consumers.
func NewService(st store.Products, flows Flows) *Service {
	c, _ := st.(store.Consumers)
	return &Service{st: st, consumers: c, flows: flows, now: time.Now, products: map[string]cachedProduct{}, routes: map[string]*Routes{}}
}

// SetJWTIssuers sets the issuers auth: jwt products may name.
func (s *Service) SetJWTIssuers(vs map[string]*JWTVerifier) { s.issuers = vs }

// Consumers is the store of consumers, plans and keys (nil: none).
func (s *Service) Consumers() store.Consumers { return s.consumers }

func fromDoc(d *store.ProductDoc) (*Product, error) {
	p, err := Decode(d.Doc)
	if err != nil {
		return nil, weft.Wrap(weft.EInternal, err, "stored product %q cannot be read: %v", d.Name, err)
	}
	p.Name, p.Namespace, p.Revision, p.CreatedAt, p.UpdatedAt = d.Name, d.Namespace, d.Revision, d.CreatedAt, d.UpdatedAt
	return p, nil
}

// Get reads a product from the store.
func (s *Service) Get(ctx context.Context, name string) (*Product, error) {
	d, err := s.st.Product(ctx, name)
	if err != nil {
		return nil, err
	}
	return fromDoc(d)
}

// List reads every product.
func (s *Service) List(ctx context.Context) ([]*Product, error) {
	ds, err := s.st.ProductList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Product, 0, len(ds))
	for i := range ds {
		p, err := fromDoc(&ds[i])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Save checks a product, compiles every version but retired ones (so a pin to a missing
// flow version or a clash is refused now, not on the first call) and
// stores it. p.Revision > 0 makes the save conditional on it.
func (s *Service) Save(ctx context.Context, p *Product) (*Product, error) {
	if p.Namespace == "" {
		p.Namespace = store.DefaultNamespace
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	if p.Auth == AuthJWT && s.issuers[p.JWTIssuer] == nil {
		return nil, &weft.Error{Code: weft.EUnprocessable, Message: fmt.Sprintf("product %s names jwt_issuer %q, which this server does not configure", p.Name, clip(p.JWTIssuer, 60)),
			Problems: []weft.Problem{{Path: "/jwt_issuer", Message: "not one of the server's api_jwt_issuers"}}}
	}
	for i := range p.Versions {
		if p.Versions[i].Status == StatusRetired {
			continue // never served again: its pins need not hold
		}
		if _, err := Compile(ctx, s.flows, p, &p.Versions[i]); err != nil {
			return nil, err
		}
	}
	doc, err := p.Encode()
	if err != nil {
		return nil, weft.Wrap(weft.EInternal, err, "encode product: %v", err)
	}
	if len(doc) > MaxProductSize {
		return nil, weft.Errorf(weft.ETooLarge, "product document is %d bytes; the limit is %d", len(doc), MaxProductSize)
	}
	d, err := s.st.SaveProduct(ctx, store.ProductDoc{Name: p.Name, Namespace: p.Namespace, Revision: p.Revision, Doc: doc})
	if err != nil {
		return nil, err
	}
	s.forget(p.Name)
	return fromDoc(&d)
}

// Delete removes a product: its versions stop answering at once in this
// process, within productTTL in others.
func (s *Service) Delete(ctx context.Context, name string) error {
	err := s.st.DeleteProduct(ctx, name)
	s.forget(name)
	return err
}

func (s *Service) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.products, name)
	for k, rs := range s.routes {
		if rs.Product.Name == name {
			delete(s.routes, k)
		}
	}
}

// Published finds a product for serving, read at most productTTL ago.
func (s *Service) Published(ctx context.Context, name string) (*Product, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.products[name]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < productTTL {
		return c.p, nil
	}
	p, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.products[name] = cachedProduct{p: p, at: now}
	s.mu.Unlock()
	return p, nil
}

// Routes returns a version's compiled routes, compiling them once per
// product revision.
func (s *Service) Routes(ctx context.Context, p *Product, v *Version) (*Routes, error) {
	key := p.Name + "/" + v.Name
	s.mu.Lock()
	rs, ok := s.routes[key]
	s.mu.Unlock()
	if ok && rs.Product.Revision == p.Revision {
		return rs, nil
	}
	rs, err := Compile(ctx, s.flows, p, v)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if cur, ok := s.routes[key]; !ok || cur.Product.Revision <= p.Revision {
		s.routes[key] = rs
	}
	s.mu.Unlock()
	return rs, nil
}

// LifecycleHeaders sets Deprecation (RFC 9745), Sunset (RFC 8594) and a
// Link to the successor version for a deprecated version; successorURL is
// the successor's base URL ("" for none).
func LifecycleHeaders(h http.Header, v *Version, successorURL string) {
	if !v.Deprecated() {
		return
	}
	switch {
	case v.DeprecatedAt != nil:
		h.Set("Deprecation", "@"+strconv.FormatInt(v.DeprecatedAt.Unix(), 10))
	default:
		// Deprecated with no date: deprecated since before now (the
		// RFC's date is when it took effect; the epoch says "already").
		h.Set("Deprecation", "@0")
	}
	if v.Sunset != nil {
		h.Set("Sunset", v.Sunset.UTC().Format(http.TimeFormat))
	}
	if successorURL != "" {
		h.Add("Link", "<"+successorURL+">; rel=\"successor-version\"")
	}
}
