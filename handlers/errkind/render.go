package errkind

import (
	"log/slog"
	"strconv"

	"github.com/labstack/echo/v4"
)

// Answer is what a dialect answers for one class of error.
type Answer struct {
	Status int
	// Body is written as JSON, unless Text is set.
	Body any
	// Text, when set, is the body as it is (REVE's plain-text 401 and 403),
	// with ContentType.
	Text        string
	ContentType string
	// WWWAuthenticate is the WWW-Authenticate header, "" for none.
	WWWAuthenticate string
	// RetryAfter is the Retry-After header in seconds, 0 for none.
	RetryAfter int
}

// Table is a dialect's error table: the answer for each class of error.
type Table func(Class) Answer

// Writer writes an answer in a dialect's own envelope (CallGear's JSON-RPC
// response, which echoes the request's id).
type Writer func(c echo.Context, a Answer) error

// Dialect is what Render needs of a dialect.
type Dialect struct {
	// Name is the dialect's name in the log ("reve").
	Name string
	// Table answers each class of error.
	Table Table
	// Write writes an answer; nil writes Body as JSON (or Text).
	Write Writer
}

// Render returns the middleware that answers any error a dialect's handler
// returns from the dialect's table, so that handlers just return errors. It
// answers nothing to a client that hung up (AnswerClientGone), logs the
// errors answered with a server error at error level, and sets
// WWW-Authenticate and Retry-After as the answer says.
func Render(log *slog.Logger, d Dialect) echo.MiddlewareFunc {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err == nil || c.Response().Committed {
				return err
			}
			if ClientGone(c) {
				return AnswerClientGone(c)
			}
			a := d.Table(Of(err))
			if a.Status >= 500 {
				log.ErrorContext(c.Request().Context(), d.Name+" request failed", "err", err, "status", a.Status,
					"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			}
			h := c.Response().Header()
			if a.WWWAuthenticate != "" {
				h.Set(echo.HeaderWWWAuthenticate, a.WWWAuthenticate)
			}
			if a.RetryAfter > 0 {
				h.Set("Retry-After", strconv.Itoa(a.RetryAfter))
			}
			if d.Write != nil {
				return d.Write(c, a)
			}
			return Write(c, a)
		}
	}
}

// Write writes a's status and body: Text as it is, with its ContentType,
// or Body as JSON.
func Write(c echo.Context, a Answer) error {
	if a.Text != "" {
		c.Response().Header().Set(echo.HeaderContentType, a.ContentType)
		c.Response().WriteHeader(a.Status)
		_, err := c.Response().Write([]byte(a.Text))
		return err
	}
	return c.JSON(a.Status, a.Body)
}
