package mcp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"sync"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// memTasks runs tasks in this process, kept for ttl after they end: the
// conformance fixture's tasks. (Flow tasks are runs: runTasks.)
type memTasks struct {
	mu    sync.Mutex
	tasks map[string]*memTask
	max   int
	ttl   time.Duration
	now   func() time.Time
}

type memTask struct {
	view   taskView
	cancel context.CancelFunc
	got    mcpgo.InputResponses // answers gathered for the pending ask
	ready  chan struct{}        // closed when every pending input is answered
}

func newMemTasks(max int, ttl time.Duration) *memTasks {
	return &memTasks{tasks: map[string]*memTask{}, max: max, ttl: ttl, now: time.Now}
}

// taskCtl is what a running task's function may do besides returning.
type taskCtl struct {
	m  *memTasks
	id string
}

// ask parks the task in input_required with reqs until every one is
// answered through tasks/update (answers may come in parts).
func (c taskCtl) ask(ctx context.Context, reqs mcpgo.InputRequests) (mcpgo.InputResponses, error) {
	c.m.mu.Lock()
	t := c.m.tasks[c.id]
	if t == nil || terminal(t.view.Status) {
		c.m.mu.Unlock()
		return nil, context.Canceled
	}
	t.view.Status, t.view.Input, t.view.Updated = taskInputRequired, maps.Clone(reqs), c.m.now()
	t.view.Message = fmt.Sprintf("waiting for %d input(s)", len(reqs))
	t.got, t.ready = mcpgo.InputResponses{}, make(chan struct{})
	ready := t.ready
	c.m.mu.Unlock()
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	got := t.got
	t.got = nil
	return got, nil
}

// start creates a task running fn and returns it as created. fn's result
// completes the task (a tool error is a completed task with isError); an
// error or a panic fails it; cancel ends it as cancelled.
func (m *memTasks) start(fn func(ctx context.Context, c taskCtl) (*mcpgo.CallToolResult, error)) (*taskView, error) {
	now := m.now()
	m.mu.Lock()
	for id, t := range m.tasks {
		if terminal(t.view.Status) && now.Sub(t.view.Updated) > m.ttl {
			delete(m.tasks, id)
		}
	}
	if len(m.tasks) >= m.max {
		m.mu.Unlock()
		return nil, fmt.Errorf("too many tasks (%d kept): wait for some to end", m.max)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	ctx, cancel := context.WithCancel(context.Background())
	t := &memTask{view: taskView{ID: id, Status: taskWorking, Created: now, Updated: now, TTL: m.ttl}, cancel: cancel}
	m.tasks[id] = t
	v := t.view
	m.mu.Unlock()
	go func() {
		var res *mcpgo.CallToolResult
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("the task's handler panicked: %v", p)
				}
			}()
			res, err = fn(ctx, taskCtl{m: m, id: id})
		}()
		cancel()
		m.mu.Lock()
		defer m.mu.Unlock()
		if terminal(t.view.Status) { // cancelled meanwhile
			return
		}
		t.view.Updated, t.view.Input, t.view.Message = m.now(), nil, ""
		switch {
		case err != nil:
			t.view.Status, t.view.Err = taskFailed, &taskError{Code: mcpgo.INTERNAL_ERROR, Message: err.Error()}
		case res == nil:
			t.view.Status, t.view.Err = taskFailed, &taskError{Code: mcpgo.INTERNAL_ERROR, Message: "the task's handler returned no result"}
		default:
			t.view.Status, t.view.Result = taskCompleted, res
		}
	}()
	return &v, nil
}

func (m *memTasks) getTask(_ context.Context, id string) (*taskView, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tasks[id]
	if t == nil {
		return nil, errTaskNotFound
	}
	v := t.view
	v.Input = maps.Clone(t.view.Input)
	return &v, nil
}

// updateTask takes the answers to pending inputs (others are ignored); the
// task resumes when none is left.
func (m *memTasks) updateTask(_ context.Context, id string, rs mcpgo.InputResponses) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tasks[id]
	if t == nil {
		return errTaskNotFound
	}
	if t.view.Status != taskInputRequired {
		return nil
	}
	for k, r := range rs {
		if _, pending := t.view.Input[k]; pending {
			t.got[k] = r
			delete(t.view.Input, k)
		}
	}
	t.view.Updated = m.now()
	if len(t.view.Input) == 0 {
		t.view.Status, t.view.Input, t.view.Message = taskWorking, nil, ""
		close(t.ready)
	} else {
		t.view.Message = fmt.Sprintf("waiting for %d input(s)", len(t.view.Input))
	}
	return nil
}

// cancelTask ends a running task as cancelled; a terminal one is left as it
// is (the ack is the same).
func (m *memTasks) cancelTask(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tasks[id]
	if t == nil {
		return errTaskNotFound
	}
	if terminal(t.view.Status) {
		return nil
	}
	t.view.Status, t.view.Input, t.view.Updated, t.view.Message = taskCancelled, nil, m.now(), "cancelled by the client"
	t.cancel()
	return nil
}
