package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// errStreamsFull answers a stream over Config.MaxStreams.
var errStreamsFull = echo.NewHTTPError(http.StatusServiceUnavailable, "too many open console streams")

// events is GET /console/events: a Server-Sent Events stream that sends
// "event: refresh" whenever the account's event log grows (a commit
// through any dialect, the console or the CLI, on this replica or, on
// PostgreSQL, another), and a comment line every KeepAlive while idle. The
// pages reload the parts they show (console.js): the stream carries no
// data, so nothing of the account's reaches a page but through the same
// session-checked routes. Wake-ups coalesce in the store's hub, so that a
// burst of commits costs a page one reload.
func (con *console) events(c echo.Context) error {
	release, err := con.acquireStream()
	if err != nil {
		return err
	}
	defer release()
	wake, cancel := con.store.SubscribeEvents(sessionOf(c).AccountID)
	defer cancel()
	rc := http.NewResponseController(c.Response())
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.Response().WriteHeader(http.StatusOK)
	write := func(b string) error {
		if err := rc.SetWriteDeadline(time.Now().Add(30 * time.Second)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := c.Response().Write([]byte(b)); err != nil {
			return err
		}
		return rc.Flush()
	}
	// The first line tells the page the stream is open (and how long to
	// wait before reconnecting), so it reloads what may have changed while
	// it was not.
	if err := write("retry: 2000\nevent: ready\ndata: \n\n"); err != nil {
		return nil
	}
	keepAlive := time.NewTicker(con.cfg.KeepAlive)
	defer keepAlive.Stop()
	ctx := c.Request().Context()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-con.cfg.Done:
			return nil
		case <-wake:
			err = write("event: refresh\ndata: \n\n")
		case <-keepAlive.C:
			err = write(": keep-alive\n\n")
		}
		if err != nil {
			// The client is gone: the status was sent, nothing to answer.
			return nil
		}
	}
}

// acquireStream counts a new stream, or returns errStreamsFull.
func (con *console) acquireStream() (release func(), err error) {
	con.mu.Lock()
	defer con.mu.Unlock()
	if con.streams >= con.cfg.MaxStreams {
		return nil, errStreamsFull
	}
	con.streams++
	return func() {
		con.mu.Lock()
		con.streams--
		con.mu.Unlock()
	}, nil
}
