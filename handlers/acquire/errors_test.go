package acquire_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/acquire"
	"switchboard/handlers/apitest"
	"switchboard/handlers/dialect"
	"switchboard/models"
	"switchboard/store"
)

// fakeAuth accepts the token "ok" with every scope and fails "down" as the
// database being unreachable.
type fakeAuth struct {
	dialect.Keys // nil: any other method panics
}

func (fakeAuth) Authenticate(_ context.Context, token string) (auth.Caller, error) {
	switch token {
	case "ok":
		return auth.Caller{AccountID: 1, AgentID: 7, Scopes: auth.AllScopes()}, nil
	case "down":
		return auth.Caller{}, fmt.Errorf("authenticate key: %w", store.ErrUnavailable)
	}
	return auth.Caller{}, auth.ErrInvalidToken
}

// fakeStore answers each method with its function, or fails.
type fakeStore struct {
	addMessage func() (store.MessageView, error)
	addSent    func() (store.SentMessage, error)
	caseView   func() (store.CaseView, error)
	err        func() error
}

func (s fakeStore) AddMessage(context.Context, int64, int64, store.NewMessage) (store.MessageView, error) {
	if s.addMessage != nil {
		return s.addMessage()
	}
	return store.MessageView{}, s.err()
}

func (s fakeStore) AddEmail(context.Context, int64, int64, store.NewEmail) (store.SentMessage, error) {
	if s.addSent != nil {
		return s.addSent()
	}
	return store.SentMessage{}, s.err()
}

func (s fakeStore) AddSMS(context.Context, int64, int64, store.NewSMS) (store.SentMessage, error) {
	if s.addSent != nil {
		return s.addSent()
	}
	return store.SentMessage{}, s.err()
}

func (s fakeStore) Case(context.Context, int64, int64) (store.CaseView, error) {
	if s.caseView != nil {
		return s.caseView()
	}
	return store.CaseView{}, s.err()
}

func (s fakeStore) ListCases(context.Context, int64, store.CaseQuery) ([]store.CaseView, int64, error) {
	return nil, 0, s.err()
}

func (s fakeStore) Contact(context.Context, int64, int64) (models.Contact, error) {
	return models.Contact{}, s.err()
}

func (s fakeStore) ContactPage(context.Context, int64, store.ContactPageQuery) ([]models.Contact, int64, error) {
	return nil, 0, s.err()
}

func (s fakeStore) ListMessages(context.Context, int64, int64, store.MessageQuery) ([]store.MessageView, int64, error) {
	return nil, 0, s.err()
}

// TestErrors_Server checks the failures a client cannot cause: an unreachable
// database, a timeout, a bug and a panic, each in Acquire's format.
func TestErrors_Server(t *testing.T) {
	unavailable := func() error { return fmt.Errorf("read: %w: connection refused", store.ErrUnavailable) }
	active := func() (store.CaseView, error) {
		return store.CaseView{Case: models.Case{ID: 5, ContactID: 3, Status: models.StatusOpen}}, nil
	}
	const (
		post = http.MethodPost
		get  = http.MethodGet
	)
	body := `{"caseId":5,"message":{"type":"message","message":"hi"}}`
	tests := []struct {
		name         string
		st           fakeStore
		token        string
		method, path string
		status       int
		typ, message string
	}{
		{"auth database down", fakeStore{}, "down", get, "/api/v1/crm/objects/case/5", 503, "ERROR_SERVICE_UNAVAILABLE", "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."},
		{"store down on get", fakeStore{err: unavailable}, "ok", get, "/api/v1/crm/objects/case/5", 503, "ERROR_SERVICE_UNAVAILABLE", "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."},
		{"store down on list", fakeStore{err: unavailable}, "ok", get, "/api/v1/crm/objects/case", 503, "ERROR_SERVICE_UNAVAILABLE", "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."},
		{"store down on messages", fakeStore{caseView: active, err: unavailable}, "ok", get, "/api/v1/crm/messenger/chat/messages?contactId=3&threadId=5", 503, "ERROR_SERVICE_UNAVAILABLE", "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."},
		{"store down on add", fakeStore{err: unavailable}, "ok", post, "/api/v1/crm/messenger/chat/add-message", 503, "ERROR_SERVICE_UNAVAILABLE", "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."},
		{"timeout", fakeStore{err: func() error { return fmt.Errorf("list: %w", context.DeadlineExceeded) }}, "ok", get, "/api/v1/crm/objects/case", 503, "ERROR_SERVICE_UNAVAILABLE", "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."},
		{"bug", fakeStore{err: func() error { return errors.New("no such column: c.nope") }}, "ok", get, "/api/v1/crm/objects/case", 500, "ERROR_SERVER_ERROR", "Internal server error"},
		{"panic", fakeStore{err: func() error { panic("boom") }}, "ok", get, "/api/v1/crm/objects/case/5", 500, "ERROR_SERVER_ERROR", "Internal server error"},
		{"the key's agent is gone", fakeStore{caseView: active, addMessage: func() (store.MessageView, error) {
			return store.MessageView{}, fmt.Errorf("add message: %w", &store.NotFoundError{Entity: "agent", ID: 7})
		}}, "ok", post, "/api/v1/crm/messenger/chat/add-message", 400, "ERROR_RECORD_NOT_FOUND", "User 7 of this API key not found"},
		// The case the answer shows is read in the write's transaction, so a
		// database lost on that read fails the write.
		{"store down during the write", fakeStore{caseView: active, addMessage: func() (store.MessageView, error) {
			return store.MessageView{}, fmt.Errorf("add message: %w", store.ErrUnavailable)
		}}, "ok", post, "/api/v1/crm/messenger/chat/add-message", 503, "ERROR_SERVICE_UNAVAILABLE", "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			acquire.RegisterStore(e, tt.st, dialect.Deps{Keys: fakeAuth{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
				acquire.Config{BodyLimit: "2M"})
			var rb io.Reader
			if tt.method == post {
				rb = strings.NewReader(body)
			}
			req := httptest.NewRequest(tt.method, tt.path, rb)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			if rb != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			apitest.Wrap(t, e).ServeHTTP(rec, req)
			assertError(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}, tt.status, tt.typ, tt.message)
			if got := rec.Header().Get("Retry-After"); (tt.status == 503) != (got == "1") {
				t.Errorf("Retry-After = %q", got)
			}
		})
	}
}

// TestErrors_Send checks the mail and SMS routes' errors that need a store
// in a given state: a spent quota (Retry-After rounded up to whole seconds),
// the key's agent gone, an unreachable database.
func TestErrors_Send(t *testing.T) {
	quota := func(kind models.InboxKind, limit int, wait time.Duration) func() (store.SentMessage, error) {
		return func() (store.SentMessage, error) {
			return store.SentMessage{}, fmt.Errorf("add %s to case 5: %w", kind, &store.QuotaError{Kind: kind, Limit: limit, RetryAfter: wait})
		}
	}
	mail := `{"data":{"caseId":5,"to":["ann@example.com"],"from":"support@example.com","cc":[],"bcc":[],"subject":"","contactId":9,` +
		`"type":"message","textBody":"hi","htmlBody":"","attachments":[]}}`
	// The case of the mail requests, whose contact is the one they name.
	case5 := func() (store.CaseView, error) { return store.CaseView{Case: models.Case{ID: 5, ContactID: 9}}, nil }
	sms := `{"threadId":5,"From":"+14155550199","To":"+14155550100","Body":"hi"}`
	tests := []struct {
		name         string
		st           fakeStore
		path, body   string
		status       int
		typ, message string
		retryAfter   string
	}{
		{"email quota", fakeStore{addSent: quota(models.InboxEmail, 1000, 90*time.Second+200*time.Millisecond), caseView: case5}, "/api/v1/mail/add-message", mail,
			429, "ERROR_TOO_MANY_REQUESTS", "the account may send 1000 emails an hour; try again in 1m30s", "91"},
		{"SMS quota", fakeStore{addSent: quota(models.InboxSMS, 200, time.Second)}, "/api/v1/voip/send-sms", sms,
			429, "ERROR_TOO_MANY_REQUESTS", "the account may send 200 SMS messages an hour; try again in 1s", "1"},
		{"quota under a second", fakeStore{addSent: quota(models.InboxSMS, 200, time.Millisecond)}, "/api/v1/voip/send-sms", sms,
			429, "ERROR_TOO_MANY_REQUESTS", "the account may send 200 SMS messages an hour; try again in 0s", "1"},
		{"the key's agent is gone", fakeStore{addSent: func() (store.SentMessage, error) {
			return store.SentMessage{}, fmt.Errorf("add email: %w", &store.NotFoundError{Entity: "agent", ID: 7})
		}, caseView: case5}, "/api/v1/mail/add-message", mail, 400, "ERROR_RECORD_NOT_FOUND", "User 7 of this API key not found", ""},
		{"store down on mail", fakeStore{err: func() error { return fmt.Errorf("add: %w", store.ErrUnavailable) }}, "/api/v1/mail/add-message", mail,
			503, "ERROR_SERVICE_UNAVAILABLE", "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice.", "1"},
		{"store down on SMS", fakeStore{err: func() error { return fmt.Errorf("add: %w", store.ErrUnavailable) }}, "/api/v1/voip/send-sms", sms, 503, "ERROR_SERVICE_UNAVAILABLE", "Service is temporarily unavailable. Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice.", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			acquire.RegisterStore(e, tt.st, dialect.Deps{Keys: fakeAuth{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
				acquire.Config{BodyLimit: "2M"})
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer ok")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			apitest.Wrap(t, e).ServeHTTP(rec, req)
			assertError(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}, tt.status, tt.typ, tt.message)
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
		})
	}
}
