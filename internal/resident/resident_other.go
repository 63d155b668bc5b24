//go:build !linux

package resident

// TrimExecutable is not supported here.
func TrimExecutable() (Report, error) { return Report{}, ErrUnsupported }

// ExecutableRSS is not supported here.
func ExecutableRSS() (int64, error) { return 0, ErrUnsupported }
