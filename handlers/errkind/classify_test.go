package errkind_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/errkind"
	"switchboard/handlers/errkind/errkindtest"
	"switchboard/store"
)

func TestOf_EveryKind(t *testing.T) {
	for _, s := range errkindtest.Samples() {
		t.Run(s.Name, func(t *testing.T) {
			cl := errkind.Of(s.Err)
			if cl.Kind != s.Kind || cl.Reason != s.Reason {
				t.Errorf("Of = %v/%q, want %v/%q", cl.Kind, cl.Reason, s.Kind, s.Reason)
			}
			if cl.Cause != s.Err {
				t.Errorf("Cause = %v, want the error itself", cl.Cause)
			}
		})
	}
}

func TestOf_Details(t *testing.T) {
	byName := map[string]error{}
	for _, s := range errkindtest.Samples() {
		byName[s.Name] = s.Err
	}
	tests := []struct {
		name  string
		err   error
		check func(errkind.Class) bool
	}{
		{"NotFound names the store's entity", byName["NotFound/entity"],
			func(c errkind.Class) bool { return c.Entity == "contact" && c.ID == 42 }},
		{"Invalid carries the fields", byName["Invalid/fields"],
			func(c errkind.Class) bool { return len(c.Fields) == 1 && c.Fields[0].Field == "name" }},
		{"a bad key carries its reason", byName["Invalid/key"],
			func(c errkind.Class) bool { return c.Detail == "it is empty" }},
		{"a request limit carries the limit and the wait", byName["Limited/requests"],
			func(c errkind.Class) bool { return c.Limit == 60 && c.Per == "minute" && c.RetryAfter == 30 }},
		{"a login throttle carries what it counts", byName["Limited/logins"],
			func(c errkind.Class) bool { return c.By == "address" && c.Limit == 5 && c.RetryAfter == 90 }},
		{"a quota carries its message and wait", byName["Limited/quota"],
			func(c errkind.Class) bool { return c.Detail != "" && c.RetryAfter == 1200 }},
		{"Unavailable is retried after a second", byName["Unavailable"],
			func(c errkind.Class) bool { return c.RetryAfter == 1 }},
		{"a missing scope is named", byName["Forbidden/scope"],
			func(c errkind.Class) bool { return c.Scope == "email" }},
		{"Echo's errors carry their status", byName["TooLarge"],
			func(c errkind.Class) bool { return c.Status == http.StatusRequestEntityTooLarge }},
		{"a deadline is Unavailable", fmt.Errorf("query: %w", context.DeadlineExceeded),
			func(c errkind.Class) bool { return c.Kind == errkind.Unavailable }},
		{"nil is no error", nil,
			func(c errkind.Class) bool { return c.Kind == errkind.Internal && c.Cause == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cl := errkind.Of(tt.err); !tt.check(cl) {
				t.Errorf("Of(%v) = %+v", tt.err, cl)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	t.Run("not found gets the handler's name", func(t *testing.T) {
		cl := errkind.Of(errkind.Lookup(&store.NotFoundError{Entity: "agent", ID: 3}, "chat", "12"))
		want := errkind.Ref{Entity: "chat", Value: "12"}
		if cl.Kind != errkind.NotFound || cl.Ref != want || cl.Entity != "agent" || cl.ID != 3 {
			t.Errorf("Of = %+v, want NotFound of agent 3 looked up as %+v", cl, want)
		}
	})
	t.Run("in the path", func(t *testing.T) {
		cl := errkind.Of(errkind.LookupPath(store.ErrNotFound, "case", "9"))
		if !cl.Ref.InPath || cl.Ref.Entity != "case" {
			t.Errorf("Ref = %+v, want case in the path", cl.Ref)
		}
	})
	t.Run("a closed case gets the handler's name", func(t *testing.T) {
		cl := errkind.Of(errkind.Lookup(store.ErrCaseNotActive, "case", "5"))
		if cl.Kind != errkind.Conflict || cl.Reason != errkind.Closed || cl.Ref.Value != "5" {
			t.Errorf("Of = %+v, want a closed case 5", cl)
		}
	})
	t.Run("other errors pass unchanged", func(t *testing.T) {
		down := fmt.Errorf("x: %w", store.ErrUnavailable)
		if got := errkind.Lookup(down, "chat", "1"); got != down {
			t.Errorf("Lookup = %v, want the error unchanged", got)
		}
		if got := errkind.Lookup(nil, "chat", "1"); got != nil {
			t.Errorf("Lookup(nil) = %v, want nil", got)
		}
	})
}

func TestNamed(t *testing.T) {
	upper := func(f store.FieldError) store.FieldError { f.Field = "list." + f.Field; return f }
	t.Run("renames the store's fields", func(t *testing.T) {
		err := errkind.Named(fmt.Errorf("write: %w", store.FieldErrors{{Field: "phone", Message: "bad"}}), upper)
		cl := errkind.Of(err)
		if cl.Kind != errkind.Invalid || len(cl.Fields) != 1 || cl.Fields[0].Field != "list.phone" {
			t.Errorf("Of = %+v, want list.phone", cl)
		}
		if !errors.As(err, new(store.FieldErrors)) {
			t.Error("the store's error is no longer wrapped")
		}
	})
	t.Run("other errors pass unchanged", func(t *testing.T) {
		if got := errkind.Named(store.ErrNotFound, upper); got != store.ErrNotFound {
			t.Errorf("Named = %v, want the error unchanged", got)
		}
	})
}

func TestAsInternal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want errkind.Kind
	}{
		{"a field error is a bug", store.FieldErrors{{Field: "spec"}}, errkind.Internal},
		{"an unavailable database stays one", store.ErrUnavailable, errkind.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errkind.Of(errkind.AsInternal(tt.err)).Kind; got != tt.want {
				t.Errorf("Kind = %v, want %v", got, tt.want)
			}
		})
	}
	if errkind.AsInternal(nil) != nil {
		t.Error("AsInternal(nil) is not nil")
	}
}

func TestRender(t *testing.T) {
	table := func(cl errkind.Class) errkind.Answer {
		return errkind.Answer{Status: 418, Body: map[string]string{"kind": cl.Kind.String()}, RetryAfter: 7, WWWAuthenticate: "Test"}
	}
	render := errkind.Render(nil, errkind.Dialect{Name: "test", Table: table})
	t.Run("answers from the table", func(t *testing.T) {
		rec := errkindtest.Serve(t, render, store.ErrNotFound)
		if rec.Code != 418 || rec.Header().Get("Retry-After") != "7" || rec.Header().Get("WWW-Authenticate") != "Test" ||
			rec.Body.String() != "{\"kind\":\"NotFound\"}\n" {
			t.Errorf("answer = %d %v %q", rec.Code, rec.Header(), rec.Body)
		}
	})
	t.Run("a client that hung up gets nothing", func(t *testing.T) {
		e := echo.New()
		e.GET("/", func(echo.Context) error { return store.ErrUnavailable }, render)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
		if rec.Code != errkind.StatusClientClosed || rec.Body.Len() != 0 {
			t.Errorf("answer = %d %q, want %d and no body", rec.Code, rec.Body, errkind.StatusClientClosed)
		}
	})
}
