package store_test

import (
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// BenchmarkAgentByEmail measures the agent read every Basic-authenticated
// request makes, on PostgreSQL, one caller at a time.
func BenchmarkAgentByEmail(b *testing.B) {
	if _, err := storetest.Postgres(); err != nil {
		b.Fatalf("this benchmark runs on PostgreSQL: set %s or start a local server: %v", storetest.EnvURL, err)
	}
	st := storetest.MustOpen(b, store.Postgres)
	acct := storetest.MustAccount(b, st, "Bench")
	storetest.MustAgent(b, st, acct.ID, "bench@example.com", models.RoleSuperadmin, "x")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if a, err := st.AgentByEmail(ctx, "Bench@example.com"); err != nil || a.AccountID != acct.ID {
			b.Fatalf("%+v, %v", a, err)
		}
	}
}
