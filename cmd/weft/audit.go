package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/postgres"
	"github.com/weftio/weft/store/sqlite"
)

// maxCLIAudit bounds weft audit list --limit.
const maxCLIAudit = 1000000

// auditCmd: weft audit list | verify.
func auditCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "verify") {
		return weft.Errorf(weft.EInvalid, "weft audit: want list or verify")
	}
	fs, server, asJSON := newFlagSet("audit " + args[0])
	var since, until, actor, action *string
	var limit *int
	var cfgPath, dataDir *string
	if args[0] == "list" {
		since = fs.String("since", "", "only entries since: 30m, 24h, 7d or RFC 3339")
		until = fs.String("until", "", "only entries before: 30m, 24h, 7d ago or RFC 3339")
		actor = fs.String("actor", "", "only this actor (api_token, user:NAME, mcp_key:ID, anonymous, system)")
		action = fs.String("action", "", "only this action (flow.deploy, connection.update, session.sign_in_failed …)")
		limit = fs.Int("limit", 100, fmt.Sprintf("at most this many, newest first (1 to %d)", maxCLIAudit))
	} else {
		cfgPath = fs.String("config", "", "read the store the config file names directly (works with the server down)")
		dataDir = fs.String("data-dir", "", "read the SQLite store in this directory directly (works with the server down)")
	}
	if _, err := parseArgs(fs, args[1:]); err != nil {
		return err
	}
	c := newClient(*server, *asJSON, stdout)
	if args[0] == "verify" {
		return auditVerify(c, *cfgPath, *dataDir, stdout)
	}
	if *limit < 1 || *limit > maxCLIAudit {
		return weft.Errorf(weft.EInvalid, "--limit must be from 1 to %d", maxCLIAudit)
	}
	q := url.Values{}
	for k, v := range map[string]string{"since": *since, "until": *until, "actor": *actor, "action": *action} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var entries []access.Entry
	for len(entries) < *limit {
		q.Set("limit", strconv.Itoa(min(*limit-len(entries), store.MaxAuditPage)))
		var page struct {
			Entries    []access.Entry `json:"entries"`
			NextCursor string         `json:"next_cursor"`
		}
		if err := c.do("GET", "/api/audit?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		entries = append(entries, page.Entries...)
		if page.NextCursor == "" || len(page.Entries) == 0 {
			break
		}
		q.Set("before", page.NextCursor)
	}
	if c.json {
		// JSON lines, oldest first: one entry a line, for a SIEM.
		slices.Reverse(entries)
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tAT\tACTOR\tACTION\tRESOURCE\tOUTCOME\tSOURCE\tDETAILS")
	for _, e := range entries {
		d := ""
		if len(e.Details) > 0 {
			b, _ := json.Marshal(e.Details)
			d = string(b)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format("2006-01-02T15:04:05Z"), e.Actor, e.Action, e.Resource, e.Outcome, e.Source, d)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d %s\n", len(entries), plural(len(entries), "entry", "entries"))
	return nil
}

// auditVerify checks the chain through the server, or in the store itself
// when --config or --data-dir names it.
func auditVerify(c *client, cfgPath, dataDir string, stdout io.Writer) error {
	var v access.Verification
	if cfgPath != "" || dataDir != "" {
		st, err := openStoreForAudit(cfgPath, dataDir)
		if err != nil {
			return err
		}
		defer st.Close()
		if v, err = access.NewLog(st).Verify(context.Background()); err != nil {
			return err
		}
	} else if err := c.do("GET", "/api/audit/verify", nil, &v); err != nil {
		return err
	}
	if c.json {
		c.printJSON(v)
	}
	if !v.Intact {
		return weft.Errorf(weft.EConflict, "audit log tampered: entry %d: %s: %s (%d entries before it verified)", v.BadSeq, v.Problem, v.Detail, v.Entries)
	}
	if !c.json {
		fmt.Fprintf(stdout, "%d %s, chain intact (head: entry %d, hash %s", v.Entries, plural(int(v.Entries), "entry", "entries"), v.HeadSeq, v.HeadHash)
		if v.AnchorSeq > 0 {
			fmt.Fprintf(stdout, "; entries up to %d purged by retention", v.AnchorSeq)
		}
		fmt.Fprintln(stdout, ")")
	}
	return nil
}

// openStoreForAudit opens the configured store directly (PostgreSQL when
// the config or WEFT_DATABASE_URL names one, else SQLite in the data
// directory, which must exist).
func openStoreForAudit(cfgPath, dataDir string) (store.Store, error) {
	cfg, err := loadConfig(cfgPath, os.Environ())
	if err != nil {
		return nil, weft.Errorf(weft.EInvalid, "%v", err)
	}
	if dataDir != "" {
		cfg.DataDir = dataDir
	}
	quiet := slog.New(slog.DiscardHandler)
	if cfg.DatabaseURL != "" {
		return postgres.Open(context.Background(), cfg.DatabaseURL, quiet, 0)
	}
	db := filepath.Join(cfg.DataDir, "weft.db")
	if _, err := os.Stat(db); err != nil {
		return nil, weft.Errorf(weft.EInvalid, "no Weft store at %s (--data-dir names the directory weft serve uses)", db)
	}
	return sqlite.Open(context.Background(), cfg.DataDir, quiet, 0)
}
