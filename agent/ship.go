package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// Run-log shipping: the agent sends the metadata of its finished runs
// upstream in batches, oldest finished first. Its own store is the buffer
// while the link is down (runs stay there until retention); a watermark
// file in the data directory says how far shipping got, written after
// each acknowledged batch. A batch sent again after a crash or a lost
// answer is recorded once: the control plane keys shipped runs by site
// and run id.

// shipState is the watermark file: every run that finished before
// FinishedBefore is shipped.
type shipState struct {
	FinishedBefore time.Time `json:"finished_before"`
}

const shipFile = "agent-ship.json"

// Payload shipping bounds: one run's payloads (input and output together;
// a larger one ships its metadata only, saying so) and a batch's size.
const (
	MaxShipPayloadBytes = 1 << 20
	shipBatchBytes      = 5 << 19 // 2.5 MiB: with one run of MaxShipPayloadBytes past it, under MaxShipBytes
)

// maxScan bounds the runs one shipping pass reads; a window with more is
// halved until it fits.
const maxScan = 20000

func (l *Link) loadShipState() (shipState, error) {
	var st shipState
	data, err := os.ReadFile(filepath.Join(l.StateDir, shipFile))
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, weft.Errorf(weft.EInvalid, "%s: %v (delete it to ship every run again; the control plane records each once)", shipFile, err)
	}
	return st, nil
}

func (l *Link) saveShipState(st shipState) error {
	data, _ := json.Marshal(st)
	if err := os.MkdirAll(l.StateDir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(l.StateDir, shipFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(l.StateDir, shipFile))
}

// cpVersion is the control plane's version of a local flow version (0 when
// the agent does not know it: an older local version).
func (l *Link) cpVersion(flow string, local int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.running[flow]; ok && r.LocalVersion == local {
		return r.Version
	}
	return l.versions[flowLocal{flow, local}]
}

type flowLocal struct {
	flow  string
	local int
}

// ShipOnce ships the runs that finished since the watermark and more than
// Settle ago, in batches, and reports how many it shipped.
func (l *Link) ShipOnce(ctx context.Context) (int, error) {
	if l.running == nil {
		if err := l.init(); err != nil {
			return 0, err
		}
	}
	st, err := l.loadShipState()
	if err != nil {
		return 0, err
	}
	end := time.Now().Add(-l.Settle)
	if !end.After(st.FinishedBefore) {
		return 0, nil
	}
	var runs []*store.Run
	for {
		runs, err = l.finished(ctx, st.FinishedBefore, end, !l.ShipPayloads)
		if err != nil {
			return 0, err
		}
		if len(runs) <= maxScan || end.Sub(st.FinishedBefore) < time.Millisecond {
			break
		}
		end = st.FinishedBefore.Add(end.Sub(st.FinishedBefore) / 2)
	}
	sort.Slice(runs, func(i, j int) bool {
		a, b := runs[i].FinishedAt, runs[j].FinishedAt
		if !a.Equal(*b) {
			return a.Before(*b)
		}
		return runs[i].ID < runs[j].ID
	})
	shipped := 0
	for len(runs) > 0 {
		// A batch is at most ShipBatch runs and about shipBatchBytes.
		batch := make([]store.AgentRun, 0, min(len(runs), l.ShipBatch))
		size := 0
		for _, r := range runs {
			if len(batch) == l.ShipBatch || (len(batch) > 0 && size >= shipBatchBytes) {
				break
			}
			ar := store.AgentRun{ID: r.ID, Flow: r.Flow, Version: l.cpVersion(r.Flow, r.Version), LocalVersion: r.Version,
				Status: r.Status, TriggerKind: r.TriggerKind, ErrorCode: r.ErrorCode, FailedStep: r.FailedStep,
				CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
			if l.ShipPayloads {
				// Only under the flow's full capture, redacted here.
				if in, out, ok := l.Engine.ExportPayloads(ctx, r); ok {
					if len(in)+len(out) > MaxShipPayloadBytes {
						ar.PayloadOmitted = fmt.Sprintf("the payloads are %d bytes; at most %d are shipped", len(in)+len(out), MaxShipPayloadBytes)
					} else {
						ar.Input, ar.Output = in, out
					}
				}
			}
			size += 400 + len(ar.Input) + len(ar.Output)
			batch = append(batch, ar)
		}
		n := len(batch)
		if b, err := json.Marshal(batch); err == nil {
			l.mu.Lock()
			l.avgRow = int64(len(b)/n) + 1
			l.mu.Unlock()
		}
		if err := l.post(ctx, RunsPath, ShipRequest{Site: l.Site, Runs: batch}, nil); err != nil {
			return shipped, err
		}
		shipped += n
		// Runs finished at the batch's last instant may be in the next
		// batch too: the watermark stays at that instant (those runs are
		// sent again, and recorded once).
		if len(runs) > n {
			st.FinishedBefore = *runs[n-1].FinishedAt
		} else {
			st.FinishedBefore = end
		}
		if err := l.saveShipState(st); err != nil {
			return shipped, err
		}
		runs = runs[n:]
		l.mu.Lock()
		l.state.ShippedRuns += int64(n)
		l.state.ShippedUntil = st.FinishedBefore
		l.watermark = st.FinishedBefore
		l.mu.Unlock()
	}
	if shipped == 0 {
		st.FinishedBefore = end
		if err := l.saveShipState(st); err != nil {
			return 0, err
		}
		l.mu.Lock()
		l.state.ShippedUntil = end
		l.watermark = end
		l.mu.Unlock()
	}
	return shipped, nil
}

// finished reads every run that finished in [from, to), metadata only.
func (l *Link) finished(ctx context.Context, from, to time.Time, noPayloads bool) ([]*store.Run, error) {
	var out []*store.Run
	before := ""
	for {
		page, err := l.Engine.Store().ListRuns(ctx, store.RunFilter{FinishedSince: from, FinishedBefore: to, Before: before, Limit: store.MaxRunsPage, NoPayloads: noPayloads})
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if r.FinishedAt != nil {
				out = append(out, r)
			}
		}
		if len(page) < store.MaxRunsPage || len(out) > maxScan {
			return out, nil
		}
		before = page[len(page)-1].ID
	}
}

// shipLoop ships every ShipEvery until ctx ends, backing off after a failure.
func (l *Link) shipLoop(ctx context.Context) {
	backoff := l.MinBackoff
	fails := 0
	for ctx.Err() == nil {
		wait := l.ShipEvery
		if _, err := l.ShipOnce(ctx); err != nil && ctx.Err() == nil {
			fails++
			l.mu.Lock()
			l.state.ShipError = weft.Message(err)
			l.mu.Unlock()
			if fails == 1 || fails%10 == 0 {
				l.Log.Warn("agent: run-log shipping failed; the runs wait in the agent's store", "failures", fails, "err", weft.Message(err))
			}
			wait = backoff/2 + rand.N(backoff/2+1)
			backoff = min(backoff*2, l.MaxBackoff)
		} else if err == nil {
			if fails > 0 {
				l.Log.Info("agent: run-log shipping caught up after failures", "failures", fails)
			}
			fails, backoff = 0, l.MinBackoff
			l.mu.Lock()
			l.state.ShipError = ""
			l.mu.Unlock()
		}
		if _, _, err := l.CheckBacklog(ctx); err != nil && ctx.Err() == nil {
			l.Log.Warn("agent: counting the run-log backlog", "err", weft.Message(err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// post sends body to the control plane's path and decodes the answer into
// out (when not nil).
func (l *Link) post(ctx context.Context, path string, body, out any) error {
	data, _ := json.Marshal(body)
	pctx, cancel := context.WithTimeout(ctx, l.Hold+15*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(pctx, http.MethodPost, strings.TrimRight(l.URL, "/")+path, bytes.NewReader(data))
	if err != nil {
		return weft.Errorf(weft.EInvalid, "agent link: %v", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+l.Token)
	hr.Header.Set("User-Agent", "weft-agent/"+l.Version)
	resp, err := l.Client.Do(hr)
	if err != nil {
		return weft.Wrap(weft.EUnavailable, err, "control plane unreachable: %v", err)
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return weft.Wrap(weft.EUnavailable, err, "control plane answer cut: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb struct {
			Error *weft.Error `json:"error"`
		}
		if json.Unmarshal(ans, &eb) == nil && eb.Error != nil {
			return &weft.Error{Code: eb.Error.Code, Message: "control plane: " + eb.Error.Message}
		}
		return weft.Errorf(weft.EUnavailable, "control plane answered %d", resp.StatusCode)
	}
	if out != nil {
		if err := json.Unmarshal(ans, out); err != nil {
			return weft.Errorf(weft.EUnavailable, "control plane answer: %v", err)
		}
	}
	return nil
}
