package engine

// PollSource is the poll trigger's source, for tests that pull it directly.
func PollSource(e *Engine) *pollSource { return newPollSource(e) }
