// Package faults is switchboard's fault suite: the real binary against a
// PostgreSQL that stops, a process killed with SIGKILL, slow clients and a
// connection flood, and two replicas sharing one database and one Redis.
//
// Its tests are behind the faults build tag, since they start and stop
// PostgreSQL clusters and take minutes:
//
//	go test -tags faults -count=1 -timeout 15m -v ./faults
package faults
