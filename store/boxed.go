package store

// boxedWords are the run statuses and the common trigger kinds as
// interface values made once: a string put in an any allocates its
// header each time, and these go into one every run (a run row's
// arguments, the run's trigger.kind).
var boxedWords = func() map[string]any {
	m := map[string]any{}
	for _, w := range []string{RunQueued, RunRunning, RunSucceeded, RunFailed, RunDead, RunCanceled,
		"webhook", "manual", "schedule", "poll", "api", "mcp", "call", "queue", "cdc", "alert", "subflow", "replay"} {
		m[w] = w
	}
	return m
}()

// Boxed is s as an interface value: a shared one for the words of
// boxedWords, s itself otherwise.
func Boxed(s string) any {
	if v, ok := boxedWords[s]; ok {
		return v
	}
	return s
}
