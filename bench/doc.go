// Package bench is the load benchmark of the real binary (make bench): it
// seeds PostgreSQL, starts switchboard serve, drives every scenario at a
// constant rate with vegeta next to its baselines, and writes results.md;
// -only events measures HelpCrunch writes with and without webhook
// subscriptions and live streams (events_test.go).
// The benchmark is a test behind the bench build tag:
//
//	go test -tags bench -run TestBench -count=1 -timeout 60m -v ./bench -args -scale=small
package bench
