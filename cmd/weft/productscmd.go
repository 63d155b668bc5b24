package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/internal/bounded"
)

const productsUsage = "weft products list | show NAME | apply FILE | pin NAME VERSION FLOW@N... | deprecate NAME VERSION [--sunset TIME] [--successor V] | retire NAME VERSION [--successor V] | test NAME VERSION on|off | delete NAME | openapi NAME VERSION"

// productsCmd manages API products: versions pinned to flow versions,
// deprecation and retirement. Changes to one version read the product,
// change it and save it over the revision read, so two changes at once
// cannot lose one (the second is refused: run it again).
func productsCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "%s", productsUsage)
	}
	fs, srv, asJSON := newFlagSet("products " + args[0])
	sunset := fs.String("sunset", "", "when the version stops answering (RFC 3339, e.g. 2027-06-30T00:00:00Z)")
	successor := fs.String("successor", "", "the version callers should move to")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*srv, *asJSON, stdout)
	need := func(n int) error {
		if len(pos) < n {
			return weft.Errorf(weft.EInvalid, "%s", productsUsage)
		}
		return nil
	}
	switch args[0] {
	case "list":
		return c.listRows("/api/products", "products", func(m map[string]any) {
			var vs []string
			for _, v := range anyList(m["versions"]) {
				vm, _ := v.(map[string]any)
				s := str(vm["name"])
				if st := str(vm["status"]); st != "" && st != apim.StatusActive {
					s += " (" + st + ")"
				}
				vs = append(vs, s)
			}
			m["version_list"] = strings.Join(vs, ", ")
		}, col{"NAME", "name"}, col{"NAMESPACE", "namespace"}, col{"VERSIONS", "version_list"}, col{"REVISION", "revision"}, col{"UPDATED", "updated_at"})
	case "show":
		if err := need(1); err != nil {
			return err
		}
		var res map[string]any
		if err := c.do("GET", "/api/products/"+pos[0], nil, &res); err != nil {
			return err
		}
		c.printJSON(res)
		return nil
	case "apply":
		if err := need(1); err != nil {
			return err
		}
		data, err := os.ReadFile(pos[0])
		if err != nil {
			return weft.Errorf(weft.EInvalid, "%v", err)
		}
		var doc map[string]any
		if err := bounded.UnmarshalYAML(pos[0], data, &doc, bounded.Limits{MaxBytes: apim.MaxProductSize}); err != nil {
			return err
		}
		name, _ := doc["name"].(string)
		if name == "" {
			return weft.Errorf(weft.EInvalid, "%s: the product needs a name", pos[0])
		}
		body, err := json.Marshal(doc)
		if err != nil {
			return weft.Errorf(weft.EInvalid, "%s: %v", pos[0], err)
		}
		return c.saveProduct(name, body)
	case "pin", "deprecate", "retire", "test":
		if err := need(2); err != nil {
			return err
		}
		return c.changeVersion(pos[0], pos[1], func(p *apim.Product, v *apim.Version) error {
			switch args[0] {
			case "pin":
				if len(pos) < 3 {
					return weft.Errorf(weft.EInvalid, "name the flow versions to pin: FLOW@N")
				}
				for _, a := range pos[2:] {
					name, n, ok := strings.Cut(a, "@")
					ver, err := strconv.Atoi(n)
					if !ok || err != nil || ver < 1 {
						return weft.Errorf(weft.EInvalid, "%q: pin a flow version as FLOW@N (e.g. get-order@3)", a)
					}
					replaced := false
					for i := range v.Flows {
						if v.Flows[i].Flow == name {
							v.Flows[i].Version, replaced = ver, true
						}
					}
					if !replaced {
						v.Flows = append(v.Flows, apim.Pin{Flow: name, Version: ver})
					}
				}
			case "deprecate", "retire":
				v.Status = apim.StatusDeprecated
				if args[0] == "retire" {
					v.Status = apim.StatusRetired
				}
				if *sunset != "" {
					t, err := time.Parse(time.RFC3339, *sunset)
					if err != nil {
						return weft.Errorf(weft.EInvalid, "--sunset %q: use RFC 3339 (2027-06-30T00:00:00Z)", *sunset)
					}
					v.Sunset = &t
				}
				if *successor != "" {
					v.Successor = *successor
				}
			case "test":
				if len(pos) < 3 || (pos[2] != "on" && pos[2] != "off") {
					return weft.Errorf(weft.EInvalid, "test mode: on or off")
				}
				v.Test = pos[2] == "on"
			}
			return nil
		})
	case "delete":
		if err := need(1); err != nil {
			return err
		}
		if err := c.do("DELETE", "/api/products/"+pos[0], nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "product %s deleted: its versions no longer answer\n", pos[0])
		return nil
	case "openapi":
		if err := need(2); err != nil {
			return err
		}
		var list struct {
			BasePath string `json:"base_path"`
		}
		if err := c.do("GET", "/api/products?namespace=", nil, &list); err != nil {
			return err
		}
		var doc json.RawMessage
		if err := c.do("GET", list.BasePath+"/"+pos[0]+"/"+pos[1]+"/openapi.json", nil, &doc); err != nil {
			return err
		}
		_, err := fmt.Fprintln(stdout, string(doc))
		return err
	}
	return weft.Errorf(weft.EInvalid, "%s", productsUsage)
}

// changeVersion reads a product, applies change to one version (created
// when missing) and saves it over the revision read.
func (c *client) changeVersion(name, version string, change func(*apim.Product, *apim.Version) error) error {
	var p apim.Product
	if err := c.do("GET", "/api/products/"+name, nil, &p); err != nil {
		if weft.Code(err) != weft.ENotFound {
			return err
		}
		p = apim.Product{Name: name}
	}
	v := p.Find(version)
	if v == nil {
		p.Versions = append(p.Versions, apim.Version{Name: version, Flows: []apim.Pin{}})
		v = &p.Versions[len(p.Versions)-1]
	}
	if err := change(&p, v); err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = time.Time{}, time.Time{}
	body, err := json.Marshal(p)
	if err != nil {
		return weft.Errorf(weft.EInternal, "%v", err)
	}
	return c.saveProduct(name, body)
}

func (c *client) saveProduct(name string, body []byte) error {
	var res apim.Product
	if err := c.do("PUT", "/api/products/"+name, body, &res); err != nil {
		return err
	}
	if c.json {
		c.printJSON(res)
		return nil
	}
	fmt.Fprintf(c.out, "product %s saved (revision %d)\n", res.Name, res.Revision)
	for _, v := range res.Versions {
		status := v.Status
		if status == "" {
			status = apim.StatusActive
		}
		var pins []string
		for _, p := range v.Flows {
			pins = append(pins, p.Flow+"@"+strconv.Itoa(p.Version))
		}
		fmt.Fprintf(c.out, "  %s  %s  %s\n", v.Name, status, strings.Join(pins, " "))
	}
	return nil
}
