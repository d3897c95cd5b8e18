// Package errkindtest is for tests of the dialects' error tables: one sample
// error of every kind (and of every reason within a kind) that
// errkind.Of knows, and a way to answer one through a dialect's rendering.
package errkindtest

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/errkind"
	"switchboard/handlers/guard"
	"switchboard/models"
	"switchboard/store"
)

// Sample is one error of a kind, named for its case ("Limited/logins").
type Sample struct {
	Name   string
	Err    error
	Kind   errkind.Kind
	Reason errkind.Reason
}

// Samples returns one error of every kind and reason, in the order of the
// kinds. Each is wrapped once, as a handler's errors are.
func Samples() []Sample {
	wrap := func(err error) error { return fmt.Errorf("sample: %w", err) }
	return []Sample{
		{Name: "Internal", Err: errors.New("sample: a bug"), Kind: errkind.Internal},
		{Name: "NotFound", Err: wrap(store.ErrNotFound), Kind: errkind.NotFound},
		{Name: "NotFound/entity", Err: wrap(&store.NotFoundError{Entity: "contact", ID: 42}), Kind: errkind.NotFound},
		{Name: "Invalid/fields", Err: wrap(store.FieldErrors{{Field: "name", Message: "must not be empty", Reason: store.ReasonRequired}}),
			Kind: errkind.Invalid},
		{Name: "Invalid/key", Err: &guard.KeyError{Reason: "it is empty"}, Kind: errkind.Invalid, Reason: errkind.BadKey},
		{Name: "Conflict/duplicate", Err: wrap(store.ErrConflict), Kind: errkind.Conflict, Reason: errkind.Duplicate},
		{Name: "Conflict/closed", Err: wrap(store.ErrCaseNotActive), Kind: errkind.Conflict, Reason: errkind.Closed},
		{Name: "InFlight", Err: wrap(store.ErrIdempotencyInFlight), Kind: errkind.InFlight, Reason: errkind.Running},
		{Name: "InFlight/applied", Err: wrap(store.ErrIdempotencyApplied), Kind: errkind.InFlight, Reason: errkind.Applied},
		{Name: "Mismatch", Err: wrap(store.ErrIdempotencyMismatch), Kind: errkind.Mismatch},
		{Name: "Limited/requests", Err: &guard.LimitError{Policy: guard.PolicyMinute, Limit: 60, Window: time.Minute, RetryAfter: 30 * time.Second},
			Kind: errkind.Limited, Reason: errkind.Requests},
		{Name: "Limited/logins", Err: wrap(&auth.ThrottledError{By: auth.ThrottleAddress, Limit: 5, Window: 15 * time.Minute, RetryAfter: 90 * time.Second}),
			Kind: errkind.Limited, Reason: errkind.Logins},
		{Name: "Limited/checks", Err: wrap(auth.ErrBusy), Kind: errkind.Limited, Reason: errkind.Checks},
		{Name: "Limited/quota", Err: wrap(&store.QuotaError{Kind: models.InboxEmail, Limit: 100, RetryAfter: 20 * time.Minute}),
			Kind: errkind.Limited, Reason: errkind.Quota},
		{Name: "Unavailable", Err: fmt.Errorf("sample: %w: connection refused", store.ErrUnavailable), Kind: errkind.Unavailable},
		{Name: "Unauthenticated/none", Err: wrap(errkind.ErrNoCredentials), Kind: errkind.Unauthenticated, Reason: errkind.NoCredentials},
		{Name: "Unauthenticated/token", Err: wrap(auth.ErrInvalidToken), Kind: errkind.Unauthenticated, Reason: errkind.BadToken},
		{Name: "Unauthenticated/expired", Err: wrap(auth.ErrExpiredToken), Kind: errkind.Unauthenticated, Reason: errkind.Expired},
		{Name: "Unauthenticated/session", Err: wrap(auth.ErrSessionToken), Kind: errkind.Unauthenticated, Reason: errkind.Session},
		{Name: "Unauthenticated/password", Err: wrap(auth.ErrBadCredentials), Kind: errkind.Unauthenticated, Reason: errkind.BadPassword},
		{Name: "Forbidden", Err: wrap(auth.ErrForbidden), Kind: errkind.Forbidden},
		{Name: "Forbidden/scope", Err: &auth.ScopeError{Scope: auth.ScopeEmail}, Kind: errkind.Forbidden},
		{Name: "TooLarge", Err: echo.NewHTTPError(http.StatusRequestEntityTooLarge, "Request Entity Too Large"), Kind: errkind.TooLarge},
	}
}

// Serve answers a GET whose handler returns err, through render (a
// dialect's errkind.Render), and returns the recorded response.
func Serve(tb testing.TB, render echo.MiddlewareFunc, err error) *httptest.ResponseRecorder {
	tb.Helper()
	e := echo.New()
	e.GET("/", func(echo.Context) error { return err }, render)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec
}

// Answer is what a dialect's table must answer for the sample named Kind:
// the status, the Retry-After, WWW-Authenticate and Content-Type headers
// ("" for none) and the body, trimmed of its final newline.
type Answer struct {
	Kind                                     string
	Status                                   int
	RetryAfter, WWWAuthenticate, ContentType string
	Body                                     string
}

// CheckEveryKind answers every sample through render and checks it against
// the answer named for it, failing a subtest for a sample the answers do not
// name and for every header or body that differs.
func CheckEveryKind(t *testing.T, render echo.MiddlewareFunc, answers []Answer) {
	t.Helper()
	want := make(map[string]Answer, len(answers))
	for _, a := range answers {
		want[a.Kind] = a
	}
	for _, s := range Samples() {
		t.Run(s.Name, func(t *testing.T) {
			a, ok := want[s.Name]
			if !ok {
				t.Fatalf("the table test has no answer for %s", s.Name)
			}
			rec := Serve(t, render, s.Err)
			h := rec.Header()
			if rec.Code != a.Status {
				t.Errorf("status = %d, want %d", rec.Code, a.Status)
			}
			for _, hv := range []struct{ name, want string }{
				{"Retry-After", a.RetryAfter}, {"WWW-Authenticate", a.WWWAuthenticate}, {"Content-Type", a.ContentType},
			} {
				if got := h.Get(hv.name); got != hv.want {
					t.Errorf("%s = %q, want %q", hv.name, got, hv.want)
				}
			}
			if got := strings.TrimSpace(rec.Body.String()); got != a.Body {
				t.Errorf("body = %s\nwant   %s", got, a.Body)
			}
		})
	}
}
