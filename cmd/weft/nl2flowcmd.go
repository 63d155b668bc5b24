package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/weftio/weft"
)

// nl2flowCmd drafts a flow from a request through the server (which has
// the live catalog), prints it with its explanation and open questions,
// and deploys it only with --deploy, after printing, when it is valid.
func nl2flowCmd(args []string, stdout io.Writer) error {
	fs, server, asJSON := newFlagSet("nl2flow")
	edit := fs.String("edit", "", "a flow file to edit with the request as the instruction")
	out := fs.String("out", "", "write the draft YAML to this file")
	backend := fs.String("backend", "", "builtin or llm (default: the server's configuration)")
	deploy := fs.Bool("deploy", false, "deploy the draft after showing it (only a valid draft)")
	replace := fs.Bool("replace", false, "with --deploy: deploy even when a flow of the draft's name exists (as its next version)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(strings.Join(pos, " "))
	if text == "" {
		return weft.Errorf(weft.EInvalid, `weft nl2flow "When a deal is won in the CRM, post in #sales" [--edit FILE] [--out FILE] [--deploy [--replace]] [--backend builtin|llm]`)
	}
	req := map[string]any{"text": text}
	if *backend != "" {
		req["backend"] = *backend
	}
	if *edit != "" {
		src, err := os.ReadFile(*edit)
		if err != nil {
			return weft.Errorf(weft.EInvalid, "%v", err)
		}
		req["flow"] = string(src)
	}
	body, _ := json.Marshal(req)
	c := newClient(*server, *asJSON, stdout)
	var d struct {
		Name          string         `json:"name"`
		YAML          string         `json:"yaml"`
		Valid         bool           `json:"valid"`
		Problems      []weft.Problem `json:"problems"`
		Explanation   []string       `json:"explanation"`
		Questions     []string       `json:"questions"`
		NotUnderstood []string       `json:"not_understood"`
		Warnings      []string       `json:"warnings"`
		Corrections   []string       `json:"corrections"`
		Confidence    float64        `json:"confidence"`
		Backend       string         `json:"backend"`
	}
	var raw map[string]any
	if err := c.do("POST", "/api/nl2flow", body, &raw); err != nil {
		return err
	}
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &d)
	if *asJSON {
		c.printJSON(raw)
	} else {
		fmt.Fprintf(stdout, "# draft %s (backend %s, confidence %.2f, %s)\n", d.Name, d.Backend, d.Confidence, map[bool]string{true: "valid", false: "NOT valid"}[d.Valid])
		fmt.Fprint(stdout, d.YAML)
		section := func(title string, lines []string) {
			if len(lines) == 0 {
				return
			}
			fmt.Fprintf(stdout, "\n%s:\n", title)
			for _, l := range lines {
				fmt.Fprintf(stdout, "  - %s\n", l)
			}
		}
		section("How it works", d.Explanation)
		section("Questions", d.Questions)
		section("Not understood", d.NotUnderstood)
		section("Warnings", d.Warnings)
		if len(d.Corrections) > 0 {
			section("Read as typos", d.Corrections)
		}
		var probs []string
		for _, p := range d.Problems {
			probs = append(probs, strings.TrimSpace(p.Pos+" "+p.Message))
		}
		section("Problems", probs)
	}
	if *out != "" {
		if err := os.WriteFile(*out, []byte(d.YAML), 0o644); err != nil {
			return weft.Errorf(weft.EInvalid, "%v", err)
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "\nwrote %s\n", *out)
		}
	}
	if !*deploy {
		if !*asJSON {
			fmt.Fprintln(stdout, "\nNot deployed. Review it, then: weft nl2flow ... --deploy, or save it with --out and run weft flow deploy FILE.")
		}
		return nil
	}
	if !d.Valid {
		return weft.Errorf(weft.EUnprocessable, "the draft is not valid; fix the problems above before deploying")
	}
	// Never overwrite a flow by accident: a draft whose name is taken is
	// deployed over it only with --replace (an edit names its own flow).
	if d.Name != "" && !*replace {
		var existing map[string]any
		err := c.do("GET", "/api/flows/"+url.PathEscape(d.Name), nil, &existing)
		switch {
		case err == nil:
			return weft.Errorf(weft.EConflict, "a flow named %s is already deployed; not replaced. Add --replace to deploy this draft as its next version, or save it with --out, rename it and deploy that", d.Name)
		case weft.Code(err) != weft.ENotFound:
			return err
		}
	}
	file := d.Name + ".yaml"
	if *out != "" {
		file = *out
	}
	var res map[string]any
	if err := c.do("POST", "/api/flows?file="+url.QueryEscape(file), []byte(d.YAML), &res); err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "\ndeployed %s version %s\n", str(res["name"]), str(res["version"]))
	}
	return nil
}
