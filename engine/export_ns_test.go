package engine

// PollSource is the poll trigger's source, for tests that pull it directly.
func PollSource(e *Engine) *pollSource { return newPollSource(e) }

// CDCSource is the cdc trigger's source, for tests that pull it directly.
func CDCSource(e *Engine) Source { return newCDCSource(e) }

// CloseCDCSource ends a source's streams, as a stopped process would.
func CloseCDCSource(s Source) { s.(*cdcSource).closeAll() }

// QueueSource is a fresh nats or amqp trigger source of e (for tests that
// pull it directly).
func QueueSource(e *Engine, kind string) Source { return newQueueSource(e, kind) }
