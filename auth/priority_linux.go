package auth

import (
	"runtime"
	"syscall"
)

// idleNice is the nice value password checks run at: the lowest priority,
// so that the kernel gives their cores to anything else that wants them.
const idleNice = 19

// atLowPriority runs check on an OS thread of its own at the lowest CPU
// priority and returns its result. A bcrypt compare holds a core for a
// quarter of a second; at this priority it takes only the time the
// server's other threads (and the database beside it) leave, so a flood of
// wrong passwords slows password checks rather than every request. Linux
// keeps a nice value per thread; an unprivileged thread cannot raise its
// priority back, so the thread is never handed back: the goroutine ends
// locked to it and the runtime discards it.
func atLowPriority(check func() bool) bool {
	done := make(chan bool, 1)
	go func() {
		runtime.LockOSThread()
		// A failure leaves the thread at its normal priority, which is
		// only slower for everyone else, never wrong.
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), idleNice)
		done <- check()
	}()
	return <-done
}
