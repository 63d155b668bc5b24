package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

const plansUsage = "weft plans list | show NAME | set NAME [--rate N] [--burst N] [--quota-day N] [--quota-month N] [--namespace NS] [--description TEXT] | delete NAME"

const consumersUsage = "weft consumers list | show NAME | create NAME [--namespace NS] [--description TEXT] [--allow-ips ADDR,CIDR,...] | disable NAME | enable NAME | delete NAME | " +
	"subscribe NAME PRODUCT --plan P [--version V] | unsubscribe NAME PRODUCT | key NAME [--hmac] | keys NAME | rotate NAME KEY_ID [--overlap 24h] | revoke NAME KEY_ID"

// plansCmd manages API plans: a rate limit (per second, with a burst) and
// quotas (per UTC day and month) consumers subscribe under.
func plansCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "%s", plansUsage)
	}
	fs, srv, asJSON := newFlagSet("plans " + args[0])
	rate := fs.Float64("rate", 0, "calls per second (0: no rate limit; 0.5 is one call every two seconds)")
	burst := fs.Int64("burst", 0, "calls allowed at once (default 1 with a rate)")
	qd := fs.Int64("quota-day", 0, "calls per UTC day (0: no quota)")
	qm := fs.Int64("quota-month", 0, "calls per UTC month (0: no quota)")
	ns := fs.String("namespace", "", "the plan's namespace (default: default, or where the plan is)")
	desc := fs.String("description", "", "what the plan is for")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*srv, *asJSON, stdout)
	if args[0] != "list" && len(pos) < 1 {
		return weft.Errorf(weft.EInvalid, "%s", plansUsage)
	}
	switch args[0] {
	case "list":
		return c.listRows("/api/plans", "plans", func(m map[string]any) {
			l, _ := m["limits"].(map[string]any)
			m["rate"], m["burst"], m["quota_day"], m["quota_month"] = l["rate_per_second"], l["burst"], l["quota_day"], l["quota_month"]
		}, col{"NAME", "name"}, col{"NAMESPACE", "namespace"}, col{"RATE/S", "rate"}, col{"BURST", "burst"}, col{"PER DAY", "quota_day"}, col{"PER MONTH", "quota_month"})
	case "show":
		var res map[string]any
		if err := c.do("GET", "/api/plans/"+url.PathEscape(pos[0]), nil, &res); err != nil {
			return err
		}
		c.printJSON(res)
		return nil
	case "set":
		p := store.Plan{Name: pos[0], Namespace: *ns, Description: *desc,
			Limits: store.Limits{RatePerSecond: *rate, Burst: *burst, QuotaDay: *qd, QuotaMonth: *qm}}
		body, err := json.Marshal(p)
		if err != nil {
			return weft.Errorf(weft.EInternal, "%v", err)
		}
		var res store.Plan
		if err := c.do("PUT", "/api/plans/"+url.PathEscape(pos[0]), body, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "plan %s saved: %s\n", res.Name, describeLimits(res.Limits))
		return nil
	case "delete":
		if err := c.do("DELETE", "/api/plans/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "plan %s deleted\n", pos[0])
		return nil
	}
	return weft.Errorf(weft.EInvalid, "%s", plansUsage)
}

func describeLimits(l store.Limits) string {
	s := ""
	add := func(p string) {
		if s != "" {
			s += ", "
		}
		s += p
	}
	if l.RatePerSecond > 0 {
		add(strconv.FormatFloat(l.RatePerSecond, 'g', -1, 64) + " calls/s, burst " + strconv.FormatInt(l.Burst, 10))
	}
	if l.QuotaDay > 0 {
		add(strconv.FormatInt(l.QuotaDay, 10) + " per day")
	}
	if l.QuotaMonth > 0 {
		add(strconv.FormatInt(l.QuotaMonth, 10) + " per month")
	}
	if s == "" {
		return "no limits"
	}
	return s
}

// consumersCmd manages API consumers, their subscriptions and their keys.
func consumersCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "%s", consumersUsage)
	}
	fs, srv, asJSON := newFlagSet("consumers " + args[0])
	ns := fs.String("namespace", "", "the consumer's namespace (default: default)")
	desc := fs.String("description", "", "what the consumer is")
	allowIPs := fs.String("allow-ips", "", "create: the only client addresses or CIDR prefixes its calls are taken from, comma-separated (default: any)")
	plan := fs.String("plan", "", "the plan of a subscription")
	ver := fs.String("version", "", "subscribe to one version only (default: every version)")
	overlap := fs.String("overlap", "24h", "how long the rotated key keeps working (0s: it stops now)")
	hmacKind := fs.Bool("hmac", false, "key: make an HMAC credential (an id and a secret for signed calls) instead of an API key")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*srv, *asJSON, stdout)
	need := func(n int) error {
		if len(pos) < n {
			return weft.Errorf(weft.EInvalid, "%s", consumersUsage)
		}
		return nil
	}
	if args[0] != "list" {
		if err := need(1); err != nil {
			return err
		}
	}
	var name string
	if len(pos) > 0 {
		name = url.PathEscape(pos[0])
	}
	switch args[0] {
	case "list":
		return c.list("/api/consumers", "consumers", col{"NAME", "name"}, col{"NAMESPACE", "namespace"}, col{"DISABLED", "disabled"}, col{"DESCRIPTION", "description"})
	case "show":
		var res map[string]any
		if err := c.do("GET", "/api/consumers/"+name, nil, &res); err != nil {
			return err
		}
		c.printJSON(res)
		return nil
	case "create", "disable", "enable":
		cons := store.Consumer{Name: pos[0], Namespace: *ns, Description: *desc}
		if *allowIPs != "" {
			cons.AllowIPs = strings.Split(*allowIPs, ",")
		}
		if args[0] != "create" {
			var cur struct {
				Consumer store.Consumer `json:"consumer"`
			}
			if err := c.do("GET", "/api/consumers/"+name, nil, &cur); err != nil {
				return err
			}
			cons = cur.Consumer
			cons.Disabled = args[0] == "disable"
		}
		body, err := json.Marshal(map[string]any{"namespace": cons.Namespace, "description": cons.Description, "disabled": cons.Disabled, "allow_ips": cons.AllowIPs})
		if err != nil {
			return weft.Errorf(weft.EInternal, "%v", err)
		}
		var res store.Consumer
		if err := c.do("PUT", "/api/consumers/"+name, body, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		state := "enabled"
		if res.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(stdout, "consumer %s saved (namespace %s, %s)\n", res.Name, res.Namespace, state)
		return nil
	case "delete":
		if err := c.do("DELETE", "/api/consumers/"+name, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "consumer %s deleted with its subscriptions and keys\n", pos[0])
		return nil
	case "subscribe":
		if err := need(2); err != nil {
			return err
		}
		if *plan == "" {
			return weft.Errorf(weft.EInvalid, "subscribe needs --plan")
		}
		body, _ := json.Marshal(map[string]string{"plan": *plan, "version": *ver})
		var res store.Subscription
		if err := c.do("PUT", "/api/consumers/"+name+"/subscriptions/"+url.PathEscape(pos[1]), body, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		v := "every version"
		if res.Version != "" {
			v = "version " + res.Version
		}
		fmt.Fprintf(stdout, "consumer %s subscribed to %s (%s) under plan %s\n", res.Consumer, res.Product, v, res.Plan)
		return nil
	case "unsubscribe":
		if err := need(2); err != nil {
			return err
		}
		if err := c.do("DELETE", "/api/consumers/"+name+"/subscriptions/"+url.PathEscape(pos[1]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "consumer %s unsubscribed from %s\n", pos[0], pos[1])
		return nil
	case "key", "rotate":
		path := "/api/consumers/" + name + "/keys"
		var body []byte
		if args[0] == "rotate" {
			if err := need(2); err != nil {
				return err
			}
			path += "/" + url.PathEscape(pos[1]) + "/rotate"
			body, _ = json.Marshal(map[string]string{"overlap": *overlap})
		} else if *hmacKind {
			body, _ = json.Marshal(map[string]string{"kind": store.KeyHMAC})
		}
		var res struct {
			Key    string             `json:"key"`
			Secret string             `json:"secret"`
			Info   store.ConsumerKey  `json:"info"`
			Old    *store.ConsumerKey `json:"rotated"`
		}
		if err := c.do("POST", path, body, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		if res.Secret != "" {
			fmt.Fprintf(stdout, "%s\n", res.Secret)
			fmt.Fprintf(stdout, "HMAC credential %s of consumer %s: the secret is shown once, keep it now (sign calls with it: Authorization: WEFT-HMAC-SHA256 Credential=%s, ...)\n", res.Info.ID, pos[0], res.Info.ID)
		} else {
			fmt.Fprintf(stdout, "%s\n", res.Key)
			fmt.Fprintf(stdout, "key %s of consumer %s: shown once, keep it now (send it as X-API-Key)\n", res.Info.ID, pos[0])
		}
		if res.Old != nil && res.Old.ExpiresAt != nil {
			fmt.Fprintf(stdout, "key %s keeps working until %s\n", res.Old.ID, res.Old.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"))
		}
		return nil
	case "keys":
		return c.listRows("/api/consumers/"+name+"/keys", "keys", func(m map[string]any) {
			m["state"] = "active"
			if m["revoked_at"] != nil {
				m["state"] = "revoked"
			} else if m["expires_at"] != nil {
				m["state"] = "until " + str(m["expires_at"])
			}
			if m["kind"] == nil {
				m["kind"] = store.KeyAPIKey
			}
		}, col{"ID", "id"}, col{"KIND", "kind"}, col{"CREATED", "created_at"}, col{"STATE", "state"})
	case "revoke":
		if err := need(2); err != nil {
			return err
		}
		if err := c.do("DELETE", "/api/consumers/"+name+"/keys/"+url.PathEscape(pos[1]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %s revoked: the next call with it is refused\n", pos[1])
		return nil
	}
	return weft.Errorf(weft.EInvalid, "%s", consumersUsage)
}
