//go:build !linux

package resident

// TrimExecutable is not supported here.
func TrimExecutable() (Report, error) { return Report{}, ErrUnsupported }
