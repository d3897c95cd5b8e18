package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names the file serve writes a CPU profile of its whole run
// to. It is for the load benchmark (bench/), which profiles the real binary
// under load; it is no flag, as no operator needs it.
const cpuProfileEnv = "SWITCHBOARD_CPU_PROFILE"

// startCPUProfile starts a CPU profile into the file env's
// SWITCHBOARD_CPU_PROFILE names, if any. It returns the function that stops
// the profile and closes the file (a no-op when none was asked for), or an
// error when the file cannot be created or a profile cannot start.
func startCPUProfile(env func(string) string) (stop func(), err error) {
	path := env(cpuProfileEnv)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
