package auth

import (
	"runtime"
	"syscall"
	"testing"
)

// niceOfThisThread returns the nice value of the calling goroutine's
// thread (Linux's raw getpriority answers 20 - nice).
func niceOfThisThread() (int, error) {
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	return 20 - prio, err
}

// TestAtLowPriority checks that a password check runs on a thread at the
// lowest priority, returns its result, and leaves the caller's thread as
// it was.
func TestAtLowPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := niceOfThisThread()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []bool{true, false} {
		var inside int
		var insideErr error
		got := atLowPriority(func() bool {
			inside, insideErr = niceOfThisThread()
			return want
		})
		if got != want {
			t.Errorf("atLowPriority returned %v, want the check's %v", got, want)
		}
		if insideErr != nil || inside != idleNice {
			t.Errorf("the check ran at nice %d (%v), want %d", inside, insideErr, idleNice)
		}
	}
	if after, err := niceOfThisThread(); err != nil || after != before {
		t.Errorf("the caller's thread went from nice %d to %d (%v)", before, after, err)
	}
}
