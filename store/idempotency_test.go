package store_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// Leases and keeps of the idempotency tests: long ones outlive any test,
// short ones are waited out with lapse.
const (
	longLease  = time.Hour
	shortLease = 50 * time.Millisecond
	longKeep   = 24 * time.Hour
	shortKeep  = 50 * time.Millisecond
)

// lapse waits until a shortLease or shortKeep has passed. It waits for
// correctness (the expiry must be in the past), not to measure speed.
func lapse() { time.Sleep(3 * shortLease) }

// mustClaim claims the key and returns the new claim's id; a replay or an
// error fails the test.
func mustClaim(tb testing.TB, s *store.Store, accountID int64, key, hash string, lease time.Duration) int64 {
	tb.Helper()
	c, err := s.ClaimIdempotencyKey(context.Background(), accountID, key, hash, lease)
	if err != nil {
		tb.Fatalf("claim %q: %v", key, err)
	}
	if c.Replay != nil || c.ID == 0 {
		tb.Fatalf("claim %q = %+v, want a new claim", key, c)
	}
	return c.ID
}

// mustComplete stores the response of a claim.
func mustComplete(tb testing.TB, s *store.Store, id int64, resp store.StoredResponse, keep time.Duration) {
	tb.Helper()
	if err := s.CompleteIdempotencyKey(context.Background(), id, resp, keep); err != nil {
		tb.Fatalf("complete claim %d: %v", id, err)
	}
}

// mustReplay claims the key and returns the replayed response; a new claim
// or an error fails the test.
func mustReplay(tb testing.TB, s *store.Store, accountID int64, key, hash string) store.StoredResponse {
	tb.Helper()
	c, err := s.ClaimIdempotencyKey(context.Background(), accountID, key, hash, longLease)
	if err != nil {
		tb.Fatalf("claim %q: %v", key, err)
	}
	if c.Replay == nil {
		tb.Fatalf("claim %q = %+v, want a replay", key, c)
	}
	return *c.Replay
}

// assertClaimErr claims the key and checks the error is want.
func assertClaimErr(tb testing.TB, s *store.Store, accountID int64, key, hash string, want error) {
	tb.Helper()
	c, err := s.ClaimIdempotencyKey(context.Background(), accountID, key, hash, longLease)
	if !errors.Is(err, want) {
		tb.Fatalf("claim %q = %+v, %v; want %v", key, c, err, want)
	}
}

// assertResponse checks a replay against the stored response: the status,
// the headers (none stored is no headers) and the body bytes.
func assertResponse(tb testing.TB, got, want store.StoredResponse) {
	tb.Helper()
	if got.Status != want.Status || !maps.Equal(got.Header, want.Header) || !bytes.Equal(got.Body, want.Body) {
		tb.Errorf("replay = {%d %v %q}, want {%d %v %q}", got.Status, got.Header, got.Body, want.Status, want.Header, want.Body)
	}
}

// idempotencyRows returns the keys of the idempotency records the account
// has in the database, sorted.
func idempotencyRows(tb testing.TB, s *store.Store, accountID int64) []string {
	tb.Helper()
	var keys []string
	err := s.GORM().Model(&models.IdempotencyKey{}).Where("account_id = ?", accountID).Pluck("key", &keys).Error
	if err != nil {
		tb.Fatalf("read idempotency keys: %v", err)
	}
	slices.Sort(keys)
	return keys
}

func TestStore_ClaimIdempotencyKey(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := storetest.MustAccount(t, s, "A")
		b := storetest.MustAccount(t, s, "B")

		t.Run("new key while running", func(t *testing.T) {
			id := mustClaim(t, s, a.ID, "running", "h1", longLease)
			assertClaimErr(t, s, a.ID, "running", "h1", store.ErrIdempotencyInFlight)
			assertClaimErr(t, s, a.ID, "running", "h2", store.ErrIdempotencyMismatch)
			// Refused claims leave the first one in place.
			mustComplete(t, s, id, store.StoredResponse{Status: 201, Body: []byte(`{}`)}, longKeep)
		})

		t.Run("completed key replays", func(t *testing.T) {
			binary := append([]byte{0x00, 0xff, 0xfe, 0x80, '\r', '\n', 0x1b}, "héllo ✓ 日本語 🚀 \x00end"...)
			tests := []struct {
				name string
				resp store.StoredResponse
				want store.StoredResponse
			}{
				{"json with headers",
					store.StoredResponse{Status: 201, Header: map[string]string{"Content-Type": "application/json; charset=UTF-8", "Location": "/api/v1/chats/7"}, Body: []byte(`{"id":7,"text":"héllo"}` + "\n")},
					store.StoredResponse{Status: 201, Header: map[string]string{"Content-Type": "application/json; charset=UTF-8", "Location": "/api/v1/chats/7"}, Body: []byte(`{"id":7,"text":"héllo"}` + "\n")}},
				{"binary and UTF-8 body",
					store.StoredResponse{Status: 200, Header: map[string]string{"Content-Type": "application/octet-stream"}, Body: binary},
					store.StoredResponse{Status: 200, Header: map[string]string{"Content-Type": "application/octet-stream"}, Body: binary}},
				{"empty body",
					store.StoredResponse{Status: 204, Header: map[string]string{}, Body: []byte{}},
					store.StoredResponse{Status: 204, Header: map[string]string{}, Body: []byte{}}},
				{"nil body and headers",
					store.StoredResponse{Status: 202},
					store.StoredResponse{Status: 202, Header: map[string]string{}, Body: []byte{}}},
				{"client error",
					store.StoredResponse{Status: 422, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"errors":[]}`)},
					store.StoredResponse{Status: 422, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"errors":[]}`)}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					key := "done " + tt.name
					id := mustClaim(t, s, a.ID, key, "h1", longLease)
					mustComplete(t, s, id, tt.resp, longKeep)
					for range 2 {
						got := mustReplay(t, s, a.ID, key, "h1")
						assertResponse(t, got, tt.want)
						if got.Body == nil {
							t.Errorf("replayed body is nil, want non-nil")
						}
					}
					assertClaimErr(t, s, a.ID, key, "h2", store.ErrIdempotencyMismatch)
					if err := s.CompleteIdempotencyKey(ctx, id, store.StoredResponse{Status: 500}, longKeep); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("completing twice: err = %v, want ErrNotFound", err)
					}
					assertResponse(t, mustReplay(t, s, a.ID, key, "h1"), tt.want)
				})
			}
		})

		t.Run("complete without a status", func(t *testing.T) {
			id := mustClaim(t, s, a.ID, "no status", "h1", longLease)
			if err := s.CompleteIdempotencyKey(ctx, id, store.StoredResponse{Body: []byte("x")}, longKeep); err == nil {
				t.Errorf("complete with status 0: err = nil, want an error")
			}
			assertClaimErr(t, s, a.ID, "no status", "h1", store.ErrIdempotencyInFlight)
		})

		t.Run("keys are per account", func(t *testing.T) {
			idA := mustClaim(t, s, a.ID, "shared", "hA", longLease)
			idB := mustClaim(t, s, b.ID, "shared", "hB", longLease)
			if idA == idB {
				t.Fatalf("both accounts got claim %d", idA)
			}
			mustComplete(t, s, idA, store.StoredResponse{Status: 201, Body: []byte("A")}, longKeep)
			assertClaimErr(t, s, b.ID, "shared", "hB", store.ErrIdempotencyInFlight)
			mustComplete(t, s, idB, store.StoredResponse{Status: 200, Body: []byte("B")}, longKeep)
			assertResponse(t, mustReplay(t, s, a.ID, "shared", "hA"), store.StoredResponse{Status: 201, Header: map[string]string{}, Body: []byte("A")})
			assertResponse(t, mustReplay(t, s, b.ID, "shared", "hB"), store.StoredResponse{Status: 200, Header: map[string]string{}, Body: []byte("B")})
		})

		t.Run("key length", func(t *testing.T) {
			tests := []struct {
				name      string
				key       string
				wantField []string
			}{
				{"empty", "", []string{"idempotency_key"}},
				{"256 characters", strings.Repeat("k", 256), []string{"idempotency_key"}},
				{"255 characters", strings.Repeat("k", 255), nil},
				{"one character", "k", nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c, err := s.ClaimIdempotencyKey(ctx, a.ID, tt.key, "h1", longLease)
					assertFields(t, err, tt.wantField)
					if err == nil && c.ID == 0 {
						t.Errorf("claim = %+v, want a new claim", c)
					}
				})
			}
			if got := idempotencyRows(t, s, a.ID); slices.Contains(got, "") || slices.Contains(got, strings.Repeat("k", 256)) {
				t.Errorf("refused keys were stored: %q", got)
			}
		})

		t.Run("lapsed lease is taken over", func(t *testing.T) {
			old := mustClaim(t, s, a.ID, "lapsed", "h1", shortLease)
			lapse()
			taken := mustClaim(t, s, a.ID, "lapsed", "h1", longLease)
			if taken == old {
				t.Fatalf("takeover got the old claim %d", old)
			}
			if err := s.CompleteIdempotencyKey(ctx, old, store.StoredResponse{Status: 200, Body: []byte("old")}, longKeep); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("completing the fenced claim: err = %v, want ErrNotFound", err)
			}
			if err := s.ReleaseIdempotencyKey(ctx, old, time.Hour); err != nil {
				t.Errorf("releasing the fenced claim: %v", err)
			}
			assertClaimErr(t, s, a.ID, "lapsed", "h1", store.ErrIdempotencyInFlight)
			mustComplete(t, s, taken, store.StoredResponse{Status: 201, Body: []byte("new")}, longKeep)
			assertResponse(t, mustReplay(t, s, a.ID, "lapsed", "h1"), store.StoredResponse{Status: 201, Header: map[string]string{}, Body: []byte("new")})
		})

		t.Run("lapsed lease is taken over by another request", func(t *testing.T) {
			mustClaim(t, s, a.ID, "lapsed other", "h1", shortLease)
			lapse()
			mustClaim(t, s, a.ID, "lapsed other", "h2", longLease)
			assertClaimErr(t, s, a.ID, "lapsed other", "h1", store.ErrIdempotencyMismatch)
		})

		t.Run("released key is claimed afresh", func(t *testing.T) {
			first := mustClaim(t, s, a.ID, "released", "h1", longLease)
			if err := s.ReleaseIdempotencyKey(ctx, first, time.Hour); err != nil {
				t.Fatal(err)
			}
			second := mustClaim(t, s, a.ID, "released", "h1", longLease)
			if second == first {
				t.Errorf("claim after release got the released id %d", first)
			}
			if err := s.ReleaseIdempotencyKey(ctx, second, time.Hour); err != nil {
				t.Fatal(err)
			}
			// After a release the key is free for another request too.
			mustClaim(t, s, a.ID, "released", "h2", longLease)
			if err := s.ReleaseIdempotencyKey(ctx, first, time.Hour); err != nil {
				t.Errorf("releasing a claim that is gone: %v", err)
			}
			assertClaimErr(t, s, a.ID, "released", "h2", store.ErrIdempotencyInFlight)
		})

		t.Run("release keeps a completed response", func(t *testing.T) {
			id := mustClaim(t, s, a.ID, "release completed", "h1", longLease)
			mustComplete(t, s, id, store.StoredResponse{Status: 200, Body: []byte("kept")}, longKeep)
			if err := s.ReleaseIdempotencyKey(ctx, id, time.Hour); err != nil {
				t.Fatal(err)
			}
			assertResponse(t, mustReplay(t, s, a.ID, "release completed", "h1"), store.StoredResponse{Status: 200, Header: map[string]string{}, Body: []byte("kept")})
		})

		t.Run("kept response past its keep is claimed afresh", func(t *testing.T) {
			first := mustClaim(t, s, a.ID, "kept", "h1", longLease)
			mustComplete(t, s, first, store.StoredResponse{Status: 200, Body: []byte("first")}, shortKeep)
			lapse()
			second := mustClaim(t, s, a.ID, "kept", "h1", longLease)
			if second == first {
				t.Errorf("fresh claim got the old id %d", first)
			}
			mustComplete(t, s, second, store.StoredResponse{Status: 201, Body: []byte("second")}, shortKeep)
			lapse()
			// A kept response past its time does not refuse another request.
			mustClaim(t, s, a.ID, "kept", "h2", longLease)
		})
	})
}

func TestStore_ClaimIdempotencyKey_Concurrent(t *testing.T) {
	type replicas struct {
		name    string
		backend store.Backend
		stores  int
	}
	var tests []replicas
	for _, b := range storetest.Backends(t) {
		tests = append(tests, replicas{string(b) + "/one store", b, 1})
		if b == store.Postgres {
			tests = append(tests, replicas{string(b) + "/two stores on one database", b, 2})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := storetest.MustURL(t, tt.backend)
			var stores []*store.Store
			for range tt.stores {
				stores = append(stores, storetest.MustOpenURL(t, u))
			}
			a := storetest.MustAccount(t, stores[0], "A")
			const n = 50
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				ids   = make(chan int64, n)
				errs  = make(chan error, n)
			)
			for i := range n {
				s := stores[i%len(stores)]
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					c, err := s.ClaimIdempotencyKey(context.Background(), a.ID, "once", "h1", longLease)
					switch {
					case err != nil:
						errs <- err
					case c.Replay != nil:
						errs <- errors.New("replay of a key nobody completed")
					default:
						ids <- c.ID
					}
				}()
			}
			close(start)
			wg.Wait()
			close(ids)
			close(errs)
			var won []int64
			for id := range ids {
				won = append(won, id)
			}
			inFlight := 0
			for err := range errs {
				if errors.Is(err, store.ErrIdempotencyInFlight) {
					inFlight++
				} else {
					t.Errorf("claim: %v, want ErrIdempotencyInFlight", err)
				}
			}
			if len(won) != 1 || inFlight != n-1 {
				t.Fatalf("%d claims won (%v) and %d were in flight, want 1 and %d", len(won), won, inFlight, n-1)
			}
			if got := idempotencyRows(t, stores[0], a.ID); !slices.Equal(got, []string{"once"}) {
				t.Errorf("records = %q, want one", got)
			}
			mustComplete(t, stores[len(stores)-1], won[0], store.StoredResponse{Status: 201, Body: []byte("one")}, longKeep)
			for _, s := range stores {
				assertResponse(t, mustReplay(t, s, a.ID, "once", "h1"), store.StoredResponse{Status: 201, Header: map[string]string{}, Body: []byte("one")})
			}
		})
	}
}

// sessionKeyName is the name CallGear's login.user gives its session keys
// (handlers/callgear.SessionKeyName).
const sessionKeyName = "login.user session"

func TestStore_PurgeExpired(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := storetest.MustAccount(t, s, "A")
		b := storetest.MustAccount(t, s, "B")
		storetest.MustAgent(t, s, a.ID, "boss@a.example.com", models.RoleSuperadmin, hash)
		storetest.MustAgent(t, s, b.ID, "boss@b.example.com", models.RoleSuperadmin, hash)

		// Idempotency keys: two of A's and one of B's run out, two stay.
		keptDone := mustClaim(t, s, a.ID, "kept past keep", "h", longLease)
		mustComplete(t, s, keptDone, store.StoredResponse{Status: 200, Body: []byte("old")}, shortKeep)
		mustClaim(t, s, a.ID, "lapsed lease", "h", shortLease)
		mustClaim(t, s, b.ID, "lapsed lease", "h", shortLease)
		keptLive := mustClaim(t, s, a.ID, "kept", "h", longLease)
		mustComplete(t, s, keptLive, store.StoredResponse{Status: 201, Body: []byte("live")}, longKeep)
		mustClaim(t, s, a.ID, "running", "h", longLease)

		// API keys, purged when they are sessions expired before before.
		now := time.Now().UTC().Truncate(time.Microsecond)
		before := now.Add(-time.Hour)
		at := func(d time.Duration) *time.Time { x := before.Add(d); return &x }
		session := models.KeySession
		keys := []struct {
			account int64
			id      string
			name    string
			kind    models.KeyKind
			expires *time.Time
			purged  bool
		}{
			{a.ID, "session-old", sessionKeyName, session, at(-time.Hour), true},
			{a.ID, "session-just-before", sessionKeyName, session, at(-time.Microsecond), true},
			{b.ID, "session-old-b", sessionKeyName, session, at(-time.Minute), true},
			{a.ID, "session-unnamed-old", "", session, at(-time.Minute), true},
			{a.ID, "session-at-before", sessionKeyName, session, at(0), false},
			{a.ID, "session-expired-after-before", sessionKeyName, session, at(30 * time.Minute), false},
			{a.ID, "session-live", sessionKeyName, session, at(2 * time.Hour), false},
			{a.ID, "session-forever", sessionKeyName, session, nil, false},
			{a.ID, "ci-old", "ci", "", at(-time.Hour), false},
			{a.ID, "unnamed-old", "", "", at(-time.Hour), false},
			{a.ID, "api-key-named-like-a-session", sessionKeyName, models.KeyAPI, at(-time.Hour), false},
		}
		for _, k := range keys {
			if _, err := s.CreateAPIKey(ctx, k.account, store.NewAPIKey{ID: k.id, Name: k.name, Kind: k.kind, ExpiresAt: k.expires}); err != nil {
				t.Fatalf("create api key %s: %v", k.id, err)
			}
		}
		if _, err := s.RevokeAPIKey(ctx, "session-live"); err != nil {
			t.Fatal(err)
		}
		lapse()

		// before in another zone names the same instant.
		got, err := s.PurgeExpired(ctx, before.In(time.FixedZone("UTC-5", -5*3600)))
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.Purged{IdempotencyKeys: 3, APIKeys: 4}); got != want {
			t.Errorf("purged %+v, want %+v", got, want)
		}
		if got, want := idempotencyRows(t, s, a.ID), []string{"kept", "running"}; !slices.Equal(got, want) {
			t.Errorf("A's idempotency keys after purge = %q, want %q", got, want)
		}
		if got := idempotencyRows(t, s, b.ID); len(got) != 0 {
			t.Errorf("B's idempotency keys after purge = %q, want none", got)
		}
		assertResponse(t, mustReplay(t, s, a.ID, "kept", "h"), store.StoredResponse{Status: 201, Header: map[string]string{}, Body: []byte("live")})
		assertClaimErr(t, s, a.ID, "running", "h", store.ErrIdempotencyInFlight)

		for _, k := range keys {
			_, err := s.APIKey(ctx, k.id)
			switch {
			case k.purged && !errors.Is(err, store.ErrNotFound):
				t.Errorf("api key %s: err = %v, want it purged", k.id, err)
			case !k.purged && err != nil:
				t.Errorf("api key %s: err = %v, want it kept", k.id, err)
			}
		}

		again, err := s.PurgeExpired(ctx, before)
		if err != nil || again != (store.Purged{}) {
			t.Errorf("second purge = %+v, %v; want nothing purged", again, err)
		}
	})
}

func TestStore_AccountRateLimits(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		t.Run("create", func(t *testing.T) {
			tests := []struct {
				name                string
				in                  store.NewAccount
				wantRate, wantDaily int
				wantErr             []string
			}{
				{"defaults", store.NewAccount{Name: "A"}, store.DefaultRateLimit, store.DefaultDailyRateLimit, nil},
				{"default values", store.NewAccount{Name: "A"}, 120, 100_000, nil},
				{"explicit", store.NewAccount{Name: "A", RateLimit: 7, DailyRateLimit: 900}, 7, 900, nil},
				{"explicit minute only", store.NewAccount{Name: "A", RateLimit: 1}, 1, store.DefaultDailyRateLimit, nil},
				{"negative", store.NewAccount{Name: "A", RateLimit: -1, DailyRateLimit: -5}, 0, 0, []string{"rate_limit", "daily_rate_limit"}},
				{"negative day", store.NewAccount{Name: "A", DailyRateLimit: -1}, 0, 0, []string{"daily_rate_limit"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					a, err := s.CreateAccount(ctx, tt.in)
					assertFields(t, err, tt.wantErr)
					if err != nil {
						return
					}
					got, err := s.Account(ctx, a.ID)
					if err != nil {
						t.Fatal(err)
					}
					if a.RateLimit != tt.wantRate || a.DailyRateLimit != tt.wantDaily ||
						got.RateLimit != tt.wantRate || got.DailyRateLimit != tt.wantDaily {
						t.Errorf("limits returned %d/%d, stored %d/%d; want %d/%d",
							a.RateLimit, a.DailyRateLimit, got.RateLimit, got.DailyRateLimit, tt.wantRate, tt.wantDaily)
					}
				})
			}
		})

		t.Run("update", func(t *testing.T) {
			a, err := s.CreateAccount(ctx, store.NewAccount{Name: "U", RateLimit: 10, DailyRateLimit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			// The steps run in order on one account.
			tests := []struct {
				name                string
				in                  store.AccountUpdate
				wantRate, wantDaily int
				wantErr             []string
			}{
				{"change both", store.AccountUpdate{RateLimit: ptr(30), DailyRateLimit: ptr(4000)}, 30, 4000, nil},
				{"nil leaves them", store.AccountUpdate{Name: ptr("U2")}, 30, 4000, nil},
				{"change minute only", store.AccountUpdate{RateLimit: ptr(1)}, 1, 4000, nil},
				{"negative", store.AccountUpdate{RateLimit: ptr(-1), DailyRateLimit: ptr(-1)}, 1, 4000, []string{"rate_limit", "daily_rate_limit"}},
				{"negative day keeps the minute too", store.AccountUpdate{RateLimit: ptr(50), DailyRateLimit: ptr(-3)}, 1, 4000, []string{"daily_rate_limit"}},
				{"0 resets the minute", store.AccountUpdate{RateLimit: ptr(0)}, store.DefaultRateLimit, 4000, nil},
				{"0 resets the day", store.AccountUpdate{DailyRateLimit: ptr(0)}, store.DefaultRateLimit, store.DefaultDailyRateLimit, nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					up, err := s.UpdateAccount(ctx, a.ID, tt.in)
					assertFields(t, err, tt.wantErr)
					if err == nil && (up.RateLimit != tt.wantRate || up.DailyRateLimit != tt.wantDaily) {
						t.Errorf("returned limits %d/%d, want %d/%d", up.RateLimit, up.DailyRateLimit, tt.wantRate, tt.wantDaily)
					}
					got, err := s.Account(ctx, a.ID)
					if err != nil {
						t.Fatal(err)
					}
					if got.RateLimit != tt.wantRate || got.DailyRateLimit != tt.wantDaily {
						t.Errorf("stored limits %d/%d, want %d/%d", got.RateLimit, got.DailyRateLimit, tt.wantRate, tt.wantDaily)
					}
				})
			}
			if _, err := s.UpdateAccount(ctx, 1<<40, store.AccountUpdate{RateLimit: ptr(5)}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("update of an unknown account: err = %v, want ErrNotFound", err)
			}
		})
	})
}
