//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlite

// queueLock is not available here: dead workers are found by heartbeat.
func queueLock(string) func() (func(), bool) { return nil }
