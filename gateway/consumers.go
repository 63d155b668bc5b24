package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/store"
)

// --- /api/plans and /api/consumers ------------------------------------------

func (s *Server) planResolver() resolver {
	return resolver{what: "plan", param: "name", hide: true, namespace: func(ctx context.Context, name string) (string, error) {
		p, err := s.apim.Consumers().Plan(ctx, name)
		if err != nil {
			return "", err
		}
		return access.NamespaceOr(p.Namespace), nil
	}}
}

func (s *Server) consumerResolver() resolver {
	return resolver{what: "consumer", param: "name", hide: true, namespace: func(ctx context.Context, name string) (string, error) {
		c, err := s.apim.Consumers().Consumer(ctx, name)
		if err != nil {
			return "", err
		}
		return access.NamespaceOr(c.Namespace), nil
	}}
}

func (s *Server) consumerRoutes(r chi.Router) {
	if s.apim.Consumers() == nil {
		return
	}
	s.route(r, http.MethodGet, "/plans", access.ConsumersRead, s.listPlans)
	s.resource(r, http.MethodGet, "/plans/{name}", access.ConsumersRead, s.planResolver(), s.getPlan)
	s.route(r, http.MethodPut, "/plans/{name}", access.ConsumersWrite, s.putPlan) // create or update: checks both namespaces itself
	s.resource(r, http.MethodDelete, "/plans/{name}", access.ConsumersWrite, s.planResolver(), s.deletePlan)

	s.route(r, http.MethodGet, "/consumers", access.ConsumersRead, s.listConsumers)
	s.resource(r, http.MethodGet, "/consumers/{name}", access.ConsumersRead, s.consumerResolver(), s.getConsumer)
	s.route(r, http.MethodPut, "/consumers/{name}", access.ConsumersWrite, s.putConsumer)
	s.resource(r, http.MethodPut, "/consumers/{name}/subscriptions/{product}", access.ConsumersWrite, s.consumerResolver(), s.subscribe)
	s.resource(r, http.MethodDelete, "/consumers/{name}/subscriptions/{product}", access.ConsumersWrite, s.consumerResolver(), s.unsubscribe)
	s.resource(r, http.MethodGet, "/consumers/{name}/keys", access.ConsumersRead, s.consumerResolver(), s.listConsumerKeys)
	s.resource(r, http.MethodPost, "/consumers/{name}/keys", access.ConsumersWrite, s.consumerResolver(), s.createConsumerKey)
	s.resource(r, http.MethodPost, "/consumers/{name}/keys/{id}/rotate", access.ConsumersWrite, s.consumerResolver(), s.rotateConsumerKey)
	s.resource(r, http.MethodDelete, "/consumers/{name}/keys/{id}", access.ConsumersWrite, s.consumerResolver(), s.revokeConsumerKey)
	s.resource(r, http.MethodDelete, "/consumers/{name}", access.ConsumersWrite, s.consumerResolver(), s.deleteConsumer)
}

// --- plans ------------------------------------------------------------------

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) {
	f, err := s.listFilter(r, access.ConsumersRead)
	if err != nil {
		writeErr(w, err)
		return
	}
	ps, err := s.apim.Consumers().Plans(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	out := []store.Plan{}
	for _, p := range ps {
		if f.keep(p.Namespace) {
			out = append(out, p)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"plans": out})
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) {
	p, err := s.apim.Consumers().Plan(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// namespacedPut decides the namespace of a create-or-update: the body's
// (or, for an update that names none, the existing one's), needing
// permission where the resource is and where it goes. It returns the
// request carrying the namespace (for the audit entry), or false after
// answering.
func (s *Server) namespacedPut(w http.ResponseWriter, r *http.Request, permission string, res resolver, name, bodyNS string) (*http.Request, string, bool, bool) {
	ns := access.NamespaceOr(bodyNS)
	oldNS, err := res.namespace(r.Context(), name)
	exists := err == nil
	switch {
	case exists:
		if err := s.allowResource(r, permission, res, name); err != nil {
			writeErr(w, err)
			return r, "", false, false
		}
		if bodyNS == "" {
			ns = oldNS
		}
	case weft.Code(err) != weft.ENotFound:
		writeErr(w, err)
		return r, "", false, false
	}
	if err := access.CheckNamespace(ns); err != nil {
		writeErr(w, err)
		return r, "", false, false
	}
	if err := allow(r, permission, ns); err != nil {
		writeErr(w, err)
		return r, "", false, false
	}
	return withNamespace(r, ns), ns, exists, true
}

func (s *Server) putPlan(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	name := chi.URLParam(r, "name")
	var p store.Plan
	if err := decodeStrict(data, &p); err != nil {
		writeErr(w, err)
		return
	}
	if p.Name != "" && p.Name != name {
		writeErr(w, weft.Errorf(weft.EInvalid, "body names plan %q but the URL names %q", clip(p.Name, 80), clip(name, 80)))
		return
	}
	p.Name = name
	if err := apim.CheckPlan(&p); err != nil {
		writeErr(w, err)
		return
	}
	r, ns, exists, ok := s.namespacedPut(w, r, access.ConsumersWrite, s.planResolver(), name, p.Namespace)
	if !ok {
		return
	}
	p.Namespace = ns
	action := access.ActionPlanCreate
	if exists {
		action = access.ActionPlanUpdate
	}
	saved, err := s.apim.SavePlan(r.Context(), p)
	s.audit(r, action, "plan:"+name, err, map[string]any{"limits": p.Limits, "namespace": ns})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, saved)
}

func (s *Server) deletePlan(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	err := s.apim.Consumers().DeletePlan(r.Context(), name)
	s.audit(r, access.ActionPlanDelete, "plan:"+name, err, nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": name})
}

// --- consumers --------------------------------------------------------------

func (s *Server) listConsumers(w http.ResponseWriter, r *http.Request) {
	f, err := s.listFilter(r, access.ConsumersRead)
	if err != nil {
		writeErr(w, err)
		return
	}
	cs, err := s.apim.Consumers().ConsumerList(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	out := []store.Consumer{}
	for _, c := range cs {
		if f.keep(c.Namespace) {
			out = append(out, c)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"consumers": out})
}

// getConsumer answers the consumer with its subscriptions and its keys
// (ids and times: a key itself is shown once, when it is made).
func (s *Server) getConsumer(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	cs := s.apim.Consumers()
	c, err := cs.Consumer(r.Context(), name)
	if err != nil {
		writeErr(w, err)
		return
	}
	subs, err := cs.Subscriptions(r.Context(), name)
	if err != nil {
		writeErr(w, err)
		return
	}
	keys, err := cs.ConsumerKeys(r.Context(), name)
	if err != nil {
		writeErr(w, err)
		return
	}
	// Each subscription with what its plan leaves now (read, not counted).
	out := make([]map[string]any, 0, len(subs))
	now := time.Now()
	for _, sub := range subs {
		m := map[string]any{"id": sub.ID, "product": sub.Product, "version": sub.Version, "plan": sub.Plan, "created_at": sub.CreatedAt}
		if plan, err := cs.Plan(r.Context(), sub.Plan); err == nil && plan.Limits != (store.Limits{}) {
			if u, err := cs.Usage(r.Context(), store.Bucket(name, sub.Product), plan.Limits, now); err == nil {
				m["usage"] = usageOf(plan.Limits, u)
			}
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"consumer": c, "subscriptions": out, "keys": nonNil(keys)})
}

// usageOf is what a plan's limits leave, as GET /api/consumers/{name}
// shows it.
func usageOf(l store.Limits, u store.Admission) map[string]any {
	m := map[string]any{}
	if l.RatePerSecond > 0 {
		m["rate_remaining"] = u.RateRemaining
	}
	if l.QuotaDay > 0 {
		m["day_used"], m["day_remaining"], m["day_resets_in_s"] = l.QuotaDay-u.DayRemaining, u.DayRemaining, int64(u.DayReset.Seconds())
	}
	if l.QuotaMonth > 0 {
		m["month_used"], m["month_remaining"], m["month_resets_in_s"] = l.QuotaMonth-u.MonthRemaining, u.MonthRemaining, int64(u.MonthReset.Seconds())
	}
	return m
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func (s *Server) putConsumer(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	name := chi.URLParam(r, "name")
	var c store.Consumer
	if err := decodeStrict(data, &c); err != nil {
		writeErr(w, err)
		return
	}
	if c.Name != "" && c.Name != name {
		writeErr(w, weft.Errorf(weft.EInvalid, "body names consumer %q but the URL names %q", clip(c.Name, 80), clip(name, 80)))
		return
	}
	c.Name = name
	if err := apim.CheckConsumer(&c); err != nil {
		writeErr(w, err)
		return
	}
	r, ns, exists, ok := s.namespacedPut(w, r, access.ConsumersWrite, s.consumerResolver(), name, c.Namespace)
	if !ok {
		return
	}
	if old, err := s.apim.Consumers().Consumer(r.Context(), name); exists && err == nil && old.Namespace != ns {
		// Subscriptions are checked against the consumer's namespace
		// when made: a consumer does not move with them.
		if subs, err := s.apim.Consumers().Subscriptions(r.Context(), name); err != nil || len(subs) > 0 {
			writeErr(w, weft.Errorf(weft.EConflict, "consumer %s has %d subscription(s); remove them before moving it to namespace %s", name, len(subs), ns))
			return
		}
	}
	c.Namespace = ns
	action := access.ActionConsumerCreate
	if exists {
		action = access.ActionConsumerUpdate
	}
	saved, err := s.apim.SaveConsumer(r.Context(), c)
	s.audit(r, action, "consumer:"+name, err, map[string]any{"namespace": ns, "disabled": c.Disabled})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, saved)
}

func (s *Server) deleteConsumer(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	err := s.apim.Consumers().DeleteConsumer(r.Context(), name)
	s.audit(r, access.ActionConsumerDelete, "consumer:"+name, err, nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": name})
}

// --- subscriptions ----------------------------------------------------------

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var body struct {
		Plan    string `json:"plan"`
		Version string `json:"version,omitempty"`
	}
	if err := decodeStrict(data, &body); err != nil {
		writeErr(w, err)
		return
	}
	if body.Plan == "" {
		writeErr(w, weft.Errorf(weft.EInvalid, "a subscription names its plan: {\"plan\": \"...\"}"))
		return
	}
	name, product := chi.URLParam(r, "name"), chi.URLParam(r, "product")
	sub, err := s.apim.Subscribe(r.Context(), store.Subscription{Consumer: name, Product: product, Version: body.Version, Plan: body.Plan})
	s.audit(r, access.ActionSubscribe, "consumer:"+name, err, map[string]any{"product": product, "version": body.Version, "plan": body.Plan})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sub)
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	name, product := chi.URLParam(r, "name"), chi.URLParam(r, "product")
	err := s.apim.Consumers().Unsubscribe(r.Context(), name, product)
	s.audit(r, access.ActionUnsubscribe, "consumer:"+name, err, map[string]any{"product": product})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"unsubscribed": product})
}

// --- keys -------------------------------------------------------------------

func (s *Server) listConsumerKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.apim.Consumers().ConsumerKeys(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": nonNil(keys)})
}

// createConsumerKey answers the new credential once (201): an API key
// (only its id and hash are kept) or, with {"kind": "hmac"}, an HMAC
// secret (kept sealed); neither is logged or audited.
func (s *Server) createConsumerKey(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var body struct {
		Kind string `json:"kind"` // api_key (default) or hmac
	}
	if err := decodeStrict(data, &body); err != nil {
		writeErr(w, err)
		return
	}
	name := chi.URLParam(r, "name")
	res, err := s.apim.CreateKey(r.Context(), name, body.Kind)
	details := map[string]any{}
	if res != nil {
		details["key_id"], details["kind"] = res.Info.ID, res.Info.Kind
	}
	s.audit(r, access.ActionConsumerKeyCreate, "consumer:"+name, err, details)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, res)
}

func (s *Server) rotateConsumerKey(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var body struct {
		Overlap string `json:"overlap"` // a Go duration: "24h", "30m", "0s"
	}
	if err := decodeStrict(data, &body); err != nil {
		writeErr(w, err)
		return
	}
	var overlap time.Duration
	if body.Overlap != "" {
		if overlap, err = time.ParseDuration(body.Overlap); err != nil {
			writeErr(w, weft.Errorf(weft.EInvalid, "overlap %q: a duration such as 24h or 30m", clip(body.Overlap, 40)))
			return
		}
	}
	name, id := chi.URLParam(r, "name"), chi.URLParam(r, "id")
	res, err := s.apim.RotateKey(r.Context(), name, id, overlap)
	details := map[string]any{"key_id": id, "overlap": overlap.String()}
	if res != nil {
		details["new_key_id"] = res.Info.ID
	}
	s.audit(r, access.ActionConsumerKeyRotate, "consumer:"+name, err, details)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, res)
}

func (s *Server) revokeConsumerKey(w http.ResponseWriter, r *http.Request) {
	name, id := chi.URLParam(r, "name"), chi.URLParam(r, "id")
	err := s.apim.RevokeKey(r.Context(), name, id)
	s.audit(r, access.ActionConsumerKeyRevoke, "consumer:"+name, err, map[string]any{"key_id": id})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
}

// decodeStrict decodes a JSON body (an empty one is {}) within bodyLimits,
// refusing unknown fields: a misspelt "quota_dya" must not pass silently.
func decodeStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := bounded.CheckJSON("body", data, bodyLimits); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return weft.Errorf(weft.EInvalid, "body: %v", err)
	}
	return nil
}
