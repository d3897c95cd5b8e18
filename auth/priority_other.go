//go:build !linux

package auth

// atLowPriority runs check: only Linux gives a thread a priority of its own.
func atLowPriority(check func() bool) bool { return check() }
