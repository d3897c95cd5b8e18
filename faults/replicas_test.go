//go:build faults

package faults

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/cmd/switchboard/binarytest"
	"switchboard/models"
	"switchboard/ratelimit/redistest"
	"switchboard/store/storetest"
)

// TestFaults_TwoReplicas runs two replicas on one PostgreSQL database and
// one Redis, both with a delivery worker on one SMTP server: the rate limit
// is shared, one Idempotency-Key over both writes once, and every queued
// email is sent exactly once.
func TestFaults_TwoReplicas(t *testing.T) {
	bin := mustBuild(t)
	dbURL := mustPostgresURL(t)
	redisURL := redistest.MustURL(t)
	// 100 ms a message: each worker's batch of 10 takes a second, so the
	// replicas' workers claim rows at the same time.
	mb := mustMailbox(t, 100*time.Millisecond)
	env := []string{
		"SWITCHBOARD_REDIS_URL=" + redisURL,
		"SWITCHBOARD_REDIS_PREFIX=" + redistest.MustPrefix(t, redisURL),
		"SWITCHBOARD_SMTP_URL=smtp://" + mb.addr,
		"SWITCHBOARD_DELIVERY_WORKERS=2",
		"SWITCHBOARD_LOG_LEVEL=debug", // "delivery sent" is a debug line
	}
	a := mustStart(t, bin, dbURL, env...)
	_, _, token := binarytest.MustCredentials(t, a.stdout)
	// A second account with a low limit and a key of its own, set before
	// either replica has seen the key.
	acct := mustRunBinary(t, bin, dbURL, "account", "create", "--name", "Limited", "--rate-limit", "5")
	mustRunBinary(t, bin, dbURL, "agent", "create", "--account", acct, "--email", "limited@example.com",
		"--password", "long-enough", "--role", "superadmin")
	limitedToken := mustRunBinary(t, bin, dbURL, "key", "create", "--account", acct)
	mustRunBinary(t, bin, dbURL, "inbox", "create", "--account", "1", "--kind", "email", "--address", "help@acme.example")
	b := mustStart(t, bin, dbURL, env...)
	replicas := []*server{a, b}

	t.Run("rate limit shared", func(t *testing.T) {
		var codes []int
		passed := 0
		for i := range 12 {
			r := replicas[i%2].mustSend(t, request{method: http.MethodGet, path: "/v1/chats", token: limitedToken})
			codes = append(codes, r.code)
			switch r.code {
			case http.StatusOK:
				passed++
			case http.StatusTooManyRequests:
			default:
				t.Errorf("request %d: %d %s", i+1, r.code, r.body)
			}
		}
		if passed != 5 || codes[4] != http.StatusOK || codes[5] != http.StatusTooManyRequests {
			t.Errorf("statuses over two replicas with a limit of 5 a minute = %v, want 5 × 200 then 429", codes)
		}
	})

	chat := a.mustChat(t, token, "ann@example.com")

	t.Run("one Idempotency-Key over both", func(t *testing.T) {
		text := "exactly once " + rand.Text()
		post := request{method: http.MethodPost, path: "/v1/messages", token: token,
			body:   mustMarshalNoFail(map[string]any{"chat": chat, "text": text, "type": "message"}),
			header: map[string]string{"Idempotency-Key": "faults-" + rand.Text()}}
		const n = 20
		replies := make([]reply, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { <-start; replies[i], errs[i] = replicas[i%2].send(post) })
		}
		close(start)
		wg.Wait()
		var fresh, replayed, inFlight int
		for i, r := range replies {
			switch {
			case errs[i] != nil:
				t.Fatalf("request %d: %v", i, errs[i])
			case r.code == http.StatusOK && r.header.Get("Idempotent-Replayed") == "true":
				replayed++
			case r.code == http.StatusOK:
				fresh++
			case r.code == http.StatusConflict:
				inFlight++
			default:
				t.Errorf("request %d: %d %s, want 200 or 409", i, r.code, r.body)
			}
		}
		// A retry on each replica after the first finished is a replay.
		for i, s := range replicas {
			if r := s.mustSend(t, post); r.code != http.StatusOK || r.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("retry on replica %d = %d %q %s, want a replay", i, r.code, r.header.Get("Idempotent-Replayed"), r.body)
			}
		}
		t.Logf("%d ran, %d replayed, %d in flight", fresh, replayed, inFlight)
		if fresh != 1 {
			t.Errorf("%d requests ran (200 without Idempotent-Replayed), want 1", fresh)
		}
		st := storetest.MustOpenURL(t, dbURL)
		var stored int64
		if err := st.GORM().Model(&models.Message{}).Where("text = ?", text).Count(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if stored != 1 {
			t.Errorf("%d messages with the key's text in the database, want 1", stored)
		}
		var records int64
		if err := st.GORM().Table("idempotency_keys").Where("key = ?", post.header["Idempotency-Key"]).Count(&records).Error; err != nil {
			t.Fatal(err)
		}
		if records != 1 {
			t.Errorf("%d idempotency records for the key, want 1", records)
		}
	})

	t.Run("every email sent exactly once", func(t *testing.T) {
		const emails = 60
		// The page marks contactId required: the chat's contact.
		var contact int64
		cst := storetest.MustOpenURL(t, dbURL)
		if err := cst.GORM().Raw("SELECT contact_id FROM cases WHERE id = ?", chat).Scan(&contact).Error; err != nil {
			t.Fatal(err)
		}
		cst.Close()
		var mu sync.Mutex
		ids := map[string]bool{}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := w; i < emails; i += 4 {
					body := mustMarshalNoFail(map[string]any{"data": map[string]any{
						"caseId": chat, "contactId": contact, "to": []string{"ann@example.com"}, "from": "help@acme.example", "cc": []string{}, "bcc": []string{},
						"subject": fmt.Sprint("Order ", i), "type": "message", "textBody": fmt.Sprint("text ", i), "htmlBody": "", "attachments": []string{},
					}})
					r, err := replicas[i%2].send(request{method: http.MethodPost, path: "/api/v1/mail/add-message", token: token, body: body})
					mu.Lock()
					if err != nil || r.code != http.StatusOK {
						t.Errorf("mail %d: %d %s %v", i, r.code, r.body, err)
					} else if id := sentID(r.body); id != "" {
						ids[id] = true
					} else {
						t.Errorf("mail %d: no messageId in %s", i, r.body)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(ids) != emails {
			t.Fatalf("%d distinct message ids queued, want %d", len(ids), emails)
		}
		waitFor(t, "every email to arrive", 60*time.Second, func() bool { _, got := mb.counts(); return len(got) >= emails })
		// Give a second send of any row time to show up.
		time.Sleep(3 * time.Second)
		total, got := mb.counts()
		for id, n := range got {
			if n != 1 {
				t.Errorf("Message-ID %s arrived %d times", id, n)
			}
			if !ids[id] {
				t.Errorf("Message-ID %s was not queued by this test", id)
			}
		}
		if total != emails {
			t.Errorf("%d emails arrived, want %d", total, emails)
		}
		st := storetest.MustOpenURL(t, dbURL)
		var sent int64
		if err := st.GORM().Model(&models.Delivery{}).Where("status = ?", models.DeliverySent).Count(&sent).Error; err != nil {
			t.Fatal(err)
		}
		if sent != emails {
			t.Errorf("%d deliveries recorded as sent, want %d", sent, emails)
		}
		byA, byB := strings.Count(a.logs.String(), `"msg":"delivery sent"`), strings.Count(b.logs.String(), `"msg":"delivery sent"`)
		t.Logf("%d emails, each once; sent by replica A %d, B %d", total, byA, byB)
		if byA == 0 || byB == 0 || byA+byB != emails {
			t.Errorf("replica A sent %d and B %d, want both to take part and %d in all", byA, byB, emails)
		}
	})
	a.mustNoPanic(t)
	b.mustNoPanic(t)
}

// sentID is the Message-ID an Acquire mail/add-message answer gives.
func sentID(body string) string {
	var sent struct {
		Data struct {
			MessageID string `json:"messageId"`
		}
	}
	_ = json.Unmarshal([]byte(body), &sent)
	return sent.Data.MessageID
}
