// Package agent is Weft's hybrid deployment: the control plane's side and
// the runtime agent's side of the link between them.
//
// A runtime agent (weft agent) runs its own store and engine on a customer
// site and dials out only: it long-polls the control plane over one HTTP(S)
// connection (the GitHub Actions runner and Azure self-hosted integration
// runtime pattern), so the site opens no inbound port. Each poll carries
// what the agent runs (the acknowledgement of earlier deploys) and is
// answered with the flow versions placed on its site, at once when they
// differ from what it runs, else when they change or the hold time ends.
// The exchange is a reconciliation of desired state: idempotent, so a lost
// answer, a reconnect or a restart of either side needs no replay.
//
// Transport: net/http only. Long polling needs no library the module does
// not already have, passes proxies that break WebSockets, and rides one
// keep-alive connection (HTTP/2 over TLS). See docs/hybrid.md.
package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/weftio/weft/store"
)

// SyncPath is the control plane's route for an agent's long poll.
const SyncPath = "/agent/v1/sync"

// TokenPrefix starts every agent credential (so a scanner can find a leaked
// one, and so it is never mistaken for a user's token).
const TokenPrefix = "weft_agent_"

// RunsPath is the control plane's route for shipped run metadata.
const RunsPath = "/agent/v1/runs"

// ShipRequest is a batch of run metadata, oldest finished first.
type ShipRequest struct {
	Site string           `json:"site"`
	Runs []store.AgentRun `json:"runs"`
}

// Limits of the link.
const (
	MaxRequestBytes = 1 << 20 // a poll's body
	MaxRunning      = 10000   // flow versions one poll may report
	DefaultHold     = 20 * time.Second
	MaxHold         = 60 * time.Second
	MaxShipRuns     = 1000    // runs in one shipped batch
	MaxShipBytes    = 4 << 20 // a shipped batch's body
)

// SyncRequest is an agent's poll: who it is and what it runs.
type SyncRequest struct {
	Site    string    `json:"site"`
	Version string    `json:"version"` // the agent's build
	Running []Running `json:"running"` // placed flow versions deployed and active on the agent
	Refused []Refusal `json:"refused,omitempty"`
	// Wait is how long the agent lets the control plane hold the poll
	// when nothing changed (seconds; 0: answer at once).
	Wait int `json:"wait,omitempty"`
	// Health is the agent's own account of itself (no payloads, no
	// credentials: which connections exist on the site and which of their
	// credentials are set, how far run-log shipping got).
	Health *Health `json:"health,omitempty"`
	// Key is this agent process's public link key (LinkKey.Public): the
	// connections placed on its site are sealed to it.
	Key string `json:"key,omitempty"`
	// Connections are the placed connections the agent applied (or
	// refused, with Error), by the digest the control plane sent.
	Connections []ConnRef `json:"connections,omitempty"`
}

// ConnRef is a placed connection an agent applied (or refused).
type ConnRef struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Error  string `json:"error,omitempty"`
}

// PlacedConn is a connection placed on a site: its whole definition
// (credentials included, when the control plane holds any) as YAML sealed
// to the polling agent's link key. SHA256 is a digest of its sealed form at
// rest on the control plane: it changes when the definition does and says
// nothing of the credentials.
type PlacedConn struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Connector string `json:"connector"`
	SHA256    string `json:"sha256"`
	Sealed    string `json:"sealed"`
}

// MaxSiteConnections bounds the connections a poll reports.
const MaxSiteConnections = 1000

// Health is what an agent says of itself on each poll.
type Health struct {
	Connections  []SiteConnection `json:"connections"`
	Refused      []Refusal        `json:"refused,omitempty"`
	ShippedUntil *time.Time       `json:"shipped_until,omitempty"` // every run finished before this is upstream
	ShipError    string           `json:"ship_error,omitempty"`
	Withdrawn    []string         `json:"withdrawn,omitempty"` // placed flows deployed on the agent that it no longer runs
	// PlacedConnections are the connections placed from the control plane
	// that the agent applied (or refused, with the reason).
	PlacedConnections []ConnRef `json:"placed_connections,omitempty"`
	// The run-log backlog: finished runs not shipped yet, their estimated
	// bytes, its bound and level (ok, warning, critical: runs refused).
	Backlog      int64        `json:"backlog"`
	BacklogBytes int64        `json:"backlog_bytes"`
	BacklogMax   int          `json:"backlog_max,omitempty"`
	BacklogLevel BacklogLevel `json:"backlog_level,omitempty"`
}

// SiteConnection is a connection configured on the site: its name and
// connector, and the names of the credentials that are set (never their
// values, never its settings).
type SiteConnection struct {
	Name        string   `json:"name"`
	Connector   string   `json:"connector"`
	Namespace   string   `json:"namespace,omitempty"`
	Credentials []string `json:"credentials"`
}

// Running is a flow version an agent acknowledged: deployed on its own
// store (as its LocalVersion there) and active.
type Running struct {
	Flow         string `json:"flow"`
	Version      int    `json:"version"` // the control plane's version
	LocalVersion int    `json:"local_version,omitempty"`
	SHA256       string `json:"sha256"`
}

// Refusal is a placed flow version an agent did not deploy, and why.
type Refusal struct {
	Flow    string `json:"flow"`
	Version int    `json:"version"`
	Error   string `json:"error"`
}

// SyncResponse is the control plane's answer: the flow versions placed on
// the agent's site (all of them: desired state, not a delta).
type SyncResponse struct {
	Site      string       `json:"site"`
	Unchanged bool         `json:"unchanged,omitempty"` // what the agent runs is what is placed: Flows is left out
	Flows     []PlacedFlow `json:"flows,omitempty"`
	// Connections placed on the site (all of them, sealed to the poll's
	// key), with Flows whenever either differs from what the agent has.
	Connections []PlacedConn `json:"connections,omitempty"`
}

// PlacedFlow is one flow version placed on a site, with its source.
type PlacedFlow struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Version   int    `json:"version"`
	File      string `json:"file"`
	Source    string `json:"source"`
	SHA256    string `json:"sha256"`
}

// Digest is the hex SHA-256 of a flow source.
func Digest(src []byte) string {
	h := sha256.Sum256(src)
	return hex.EncodeToString(h[:])
}
