package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestStore_Write_Retries checks which errors a write runs again for: the
// aborts PostgreSQL makes for timing alone, a bounded number of times, and
// nothing else.
func TestStore_Write_Retries(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		deadlock := &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
		serialization := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
		tests := []struct {
			name         string
			failures     int   // how many runs fail before one succeeds
			err          error // what they fail with
			wantAttempts int64
			wantErr      error
		}{
			{"ok at once", 0, nil, 1, nil},
			{"a deadlock, then ok", 1, deadlock, 2, nil},
			{"serialization failures, then ok", 3, serialization, 4, nil},
			{"deadlocks past the bound", 10, deadlock, 4, deadlock},
			{"a field error is not retried", 10, store.FieldErrors{{Field: "name", Message: "bad"}}, 1, store.FieldErrors{}},
			{"a unique violation is not retried", 10, &pgconn.PgError{Code: "23505"}, 1, &pgconn.PgError{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var attempts atomic.Int64
				err := s.WriteForTest(t.Context(), func(tx *gorm.DB) error {
					if attempts.Add(1) <= int64(tt.failures) {
						return tt.err
					}
					return nil
				})
				if n := attempts.Load(); n != tt.wantAttempts {
					t.Errorf("%d attempts, want %d", n, tt.wantAttempts)
				}
				switch want := tt.wantErr.(type) {
				case nil:
					if err != nil {
						t.Errorf("err = %v, want none", err)
					}
				case store.FieldErrors:
					if !errors.As(err, &want) {
						t.Errorf("err = %v, want the field errors", err)
					}
				case *pgconn.PgError:
					if !errors.As(err, &want) {
						t.Errorf("err = %v, want the PostgreSQL error", err)
					}
				}
			})
		}
	})
}

// TestStore_Write_ContextEnds checks that a write whose context ends says
// so, whatever the driver made of it: a client that hung up mid-write is
// not a server error.
func TestStore_Write_ContextEnds(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		acct := storetest.MustAccount(t, s, "A")
		ctx, cancel := context.WithCancel(t.Context())
		err := s.WriteForTest(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec("UPDATE accounts SET name = name WHERE id = ?", acct.ID).Error; err != nil {
				return err
			}
			cancel()
			// What a driver answers on a transaction its context rolled back.
			return tx.Exec("UPDATE accounts SET name = name WHERE id = ?", acct.ID).Error
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want it to match context.Canceled", err)
		}
	})
}

// TestStore_Write_Deadlock makes PostgreSQL deadlock two writes for real
// (each holds a row the other wants) and checks that both succeed: the one
// PostgreSQL aborts runs again once the other has committed.
func TestStore_Write_Deadlock(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		if s.Backend() != store.Postgres {
			t.Skip("SQLite runs one writer at a time: it cannot deadlock")
		}
		acct := storetest.MustAccount(t, s, "A")
		a := storetest.MustContact(t, s, acct.ID, "Ann", "ann@example.com", "")
		b := storetest.MustContact(t, s, acct.ID, "Bob", "bob@example.com", "")
		var attempts atomic.Int64
		locked := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		write := func(me int, first, second int64) error {
			var once bool
			return s.WriteForTest(t.Context(), func(tx *gorm.DB) error {
				attempts.Add(1)
				if err := tx.Exec("UPDATE contacts SET name = name || '.' WHERE id = ?", first).Error; err != nil {
					return err
				}
				if !once {
					// The first run waits until the other holds its row too.
					once = true
					close(locked[me])
					<-locked[1-me]
				}
				return tx.Exec("UPDATE contacts SET name = name || '.' WHERE id = ?", second).Error
			})
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() { errs[0] = write(0, a.ID, b.ID) })
		wg.Go(func() { errs[1] = write(1, b.ID, a.ID) })
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("errs = %v, want both writes to succeed", errs)
		}
		if n := attempts.Load(); n != 3 {
			t.Errorf("%d runs, want 3: one of the two runs again", n)
		}
		for _, c := range []models.Contact{a, b} {
			var name string
			if err := s.GORM().Raw("SELECT name FROM contacts WHERE id = ?", c.ID).Scan(&name).Error; err != nil {
				t.Fatal(err)
			}
			if name != c.Name+".." {
				t.Errorf("contact %d is %q, want %q: each write once", c.ID, name, c.Name+"..")
			}
		}
	})
}

// TestStore_IdempotencyApplied checks that a write made under an
// idempotency claim marks it applied in its own transaction, so that a claim
// given up afterwards (the answer lost) answers ErrIdempotencyApplied instead
// of running the write again, while a claim given up with nothing written
// runs afresh.
func TestStore_IdempotencyApplied(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		acct := storetest.MustAccount(t, s, "A")
		const lease, keep = time.Minute, time.Hour
		claim := func(key string) int64 { return mustClaim(t, s, acct.ID, key, "h", lease) }

		t.Run("written, then released", func(t *testing.T) {
			id := claim("written")
			if _, err := s.CreateContact(store.WithIdempotencyClaim(ctx, id), acct.ID, store.NewContact{Name: "Ann"}); err != nil {
				t.Fatal(err)
			}
			if err := s.ReleaseIdempotencyKey(ctx, id, keep); err != nil {
				t.Fatal(err)
			}
			assertClaimErr(t, s, acct.ID, "written", "h", store.ErrIdempotencyApplied)
			// Another request with the key is still another request.
			assertClaimErr(t, s, acct.ID, "written", "other", store.ErrIdempotencyMismatch)
		})
		t.Run("nothing written, then released", func(t *testing.T) {
			id := claim("unwritten")
			if err := s.ReleaseIdempotencyKey(ctx, id, keep); err != nil {
				t.Fatal(err)
			}
			claim("unwritten")
		})
		t.Run("a write refused, then released", func(t *testing.T) {
			id := claim("refused")
			_, err := s.CreateContact(store.WithIdempotencyClaim(ctx, id), 999_999, store.NewContact{Name: "Ann"})
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want the unknown account", err)
			}
			if err := s.ReleaseIdempotencyKey(ctx, id, keep); err != nil {
				t.Fatal(err)
			}
			claim("refused")
		})
		t.Run("written and answered", func(t *testing.T) {
			id := claim("answered")
			if _, err := s.CreateContact(store.WithIdempotencyClaim(ctx, id), acct.ID, store.NewContact{Name: "Bob"}); err != nil {
				t.Fatal(err)
			}
			mustComplete(t, s, id, store.StoredResponse{Status: 201, Body: []byte("bob")}, keep)
			assertResponse(t, mustReplay(t, s, acct.ID, "answered", "h"), store.StoredResponse{Status: 201, Header: map[string]string{}, Body: []byte("bob")})
		})
		t.Run("still running", func(t *testing.T) {
			id := claim("running")
			if _, err := s.CreateContact(store.WithIdempotencyClaim(ctx, id), acct.ID, store.NewContact{Name: "Cy"}); err != nil {
				t.Fatal(err)
			}
			assertClaimErr(t, s, acct.ID, "running", "h", store.ErrIdempotencyInFlight)
		})
	})
}
