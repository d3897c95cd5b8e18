package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names the file serve writes a CPU profile to, from the
// moment it serves until it stops: the work of its requests, not of its
// start (migrations, the Basic auth's dummy bcrypt hash). It is for the load
// benchmark (bench/), which profiles the real binary under one route's load;
// it is no flag, as no operator needs it.
const cpuProfileEnv = "SWITCHBOARD_CPU_PROFILE"

// cpuProfile is the file of a CPU profile serve was asked for; nil when none
// was.
type cpuProfile struct{ f *os.File }

// openCPUProfile creates the file env's SWITCHBOARD_CPU_PROFILE names. It
// returns nil when the variable is unset, or an error when the file cannot
// be created.
func openCPUProfile(env func(string) string) (*cpuProfile, error) {
	path := env(cpuProfileEnv)
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	return &cpuProfile{f: f}, nil
}

// start starts the profile and returns the function that stops it and
// closes its file. On a nil profile both do nothing; a profile that cannot
// start is logged, not fatal: serving matters more.
func (p *cpuProfile) start(log *slog.Logger) (stop func()) {
	if p == nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(p.f); err != nil {
		log.Error("cpu profile", "err", err)
		p.f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		p.f.Close()
	}
}
