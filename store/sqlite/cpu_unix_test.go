//go:build unix

package sqlite_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user + system), so
// BenchmarkQueue reports the queue's CPU per run beside its rate: on a
// shared machine the rate moves with other load far more than the CPU a
// run costs.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
