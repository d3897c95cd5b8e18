package switchboard_test

import (
	"testing"

	"switchboard/store/storetest"
)

// TestMain gives the package's tests one PostgreSQL schema and one SQLite
// template, emptied or copied per test, and removes them at exit.
func TestMain(m *testing.M) { storetest.Main(m) }
