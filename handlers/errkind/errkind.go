// Package errkind is the one error classifier the dialects share. Of maps
// any error a handler returns (the store's, auth's, the guard's, jsonbody's,
// Echo's, or a dialect's own Worded error) to a Class: a small set of kinds
// (NotFound, Invalid, Conflict, InFlight, Mismatch, Limited, Unavailable,
// Unauthenticated, Forbidden, TooLarge, else Internal) with the details a
// vendor's wording needs. Each dialect's errors.go is then only a Table, kind
// → status and body, and Render is the one middleware that answers with it:
// handlers just return errors. Handlers that know more than the store says
// name it with Lookup (which record, as the client wrote it), Named (the
// request's names of the store's fields) or AsInternal (a bug, whatever it
// wraps).
//
// errkind sits between the dialects and auth, store and the guard: it
// imports them and no dialect.
package errkind

import (
	"context"
	"errors"

	"github.com/labstack/echo/v4"
)

// StatusClientClosed is the status logged for a request whose client hung
// up before its answer (nginx's 499): nobody reads the answer, and it is no
// server error.
const StatusClientClosed = 499

// ClientGone reports whether the request's client hung up: its context was
// cancelled. The server's own timeouts end a context with DeadlineExceeded,
// which is not this.
func ClientGone(c echo.Context) bool {
	return errors.Is(context.Cause(c.Request().Context()), context.Canceled)
}

// AnswerClientGone writes the StatusClientClosed status (no body: the
// client is gone) so that the access log records it as such, at info level.
func AnswerClientGone(c echo.Context) error {
	c.Response().WriteHeader(StatusClientClosed)
	return nil
}

// UnavailableRetry is the advice every dialect's 503 gives: a write whose
// answer was a 503 may have been saved, so it is retried with the same
// Idempotency-Key, which makes the retry answer the first write's result
// instead of writing again.
const UnavailableRetry = "Retry after the number of seconds in Retry-After; send a write again with the same Idempotency-Key header so that it is not made twice"
