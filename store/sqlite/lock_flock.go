//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlite

import (
	"os"
	"syscall"
)

// queueLock returns a lock on path that one process at a time can hold (an
// flock the kernel releases when the process dies, kill -9 included).
func queueLock(path string) func() (func(), bool) {
	return func() (func(), bool) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, false
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			return nil, false
		}
		return func() { f.Close() }, true
	}
}
