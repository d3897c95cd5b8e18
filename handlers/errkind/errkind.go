// Package errkind holds what every dialect's error table answers alike,
// whatever the vendor's format: a client that hung up, and the wording of a
// database that is unavailable.
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
