package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/weftio/weft"
)

// metricsCmd prints each flow's health over a period from /api/metrics:
// runs, failures, dead runs, error rate and latency, and with --buckets
// one line per interval.
func metricsCmd(args []string, stdout io.Writer) error {
	fs, server, asJSON := newFlagSet("metrics")
	flow := fs.String("flow", "", "one flow (default: all)")
	since := fs.String("since", "1h", "how far back (30m, 6h, 7d, or RFC 3339)")
	res := fs.String("resolution", "", "interval (default: the whole period for the summary, 1m with --buckets)")
	buckets := fs.Bool("buckets", false, "one line per interval")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	r := *res
	if r == "" {
		r = "1m"
	}
	q := url.Values{"since": {*since}, "resolution": {r}}
	if *flow != "" {
		q.Set("flow", *flow)
	}
	c := newClient(*server, *asJSON, stdout)
	var out struct {
		Series []struct {
			Flow    string `json:"flow"`
			Buckets []struct {
				T         string   `json:"t"`
				Runs      int      `json:"runs"`
				Finished  int      `json:"finished"`
				Failed    int      `json:"failed"`
				Dead      int      `json:"dead"`
				ErrorRate float64  `json:"error_rate"`
				P50       *float64 `json:"p50_ms"`
				P95       *float64 `json:"p95_ms"`
			} `json:"buckets"`
		} `json:"series"`
		Note string `json:"note"`
	}
	var raw map[string]any
	if err := c.do("GET", "/api/metrics?"+q.Encode(), nil, &raw); err != nil {
		return err
	}
	if *asJSON {
		c.printJSON(raw)
		return nil
	}
	if err := remarshal(raw, &out); err != nil {
		return weft.Errorf(weft.EInternal, "%v", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	ms := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f", *p)
	}
	if *buckets {
		fmt.Fprintln(tw, "FLOW\tT\tRUNS\tFAILED\tDEAD\tERROR%\tP50 MS\tP95 MS")
		for _, s := range out.Series {
			for _, b := range s.Buckets {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f\t%s\t%s\n", s.Flow, b.T, b.Runs, b.Failed, b.Dead, b.ErrorRate*100, ms(b.P50), ms(b.P95))
			}
		}
	} else {
		fmt.Fprintln(tw, "FLOW\tRUNS\tFAILED\tDEAD\tERROR%\tWORST P95 MS")
		for _, s := range out.Series {
			var runs, fin, failed, dead int
			var worst *float64
			for _, b := range s.Buckets {
				runs, fin, failed, dead = runs+b.Runs, fin+b.Finished, failed+b.Failed, dead+b.Dead
				if b.P95 != nil && (worst == nil || *b.P95 > *worst) {
					worst = b.P95
				}
			}
			rate := 0.0
			if fin > 0 {
				rate = float64(failed) / float64(fin) * 100
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%s\n", s.Flow, runs, failed, dead, rate, ms(worst))
		}
	}
	if out.Note != "" {
		fmt.Fprintln(tw, out.Note)
	}
	return tw.Flush()
}

// remarshal decodes a generic JSON value into a typed one.
func remarshal(v any, into any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}
