package handlers

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"switchboard/handlers/dialect"
	"switchboard/handlers/guard"
	"switchboard/ratelimit"
)

// fifthConfig is the settings of fifth, a dialect made up for the test.
type fifthConfig struct{ BodyLimit string }

// registerFifth is fifth's Register, of the one shape every dialect has:
// its error rendering, deps.Before, its authentication (an X-Fifth: ok
// header), deps.After, then GET and POST /fifth, which panic when asked to.
func registerFifth(e *echo.Echo, deps dialect.Deps, cfg fifthConfig) {
	chain := append([]echo.MiddlewareFunc{renderFifth}, deps.Before(cfg.BodyLimit)...)
	chain = append(chain, func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("X-Fifth") != "ok" {
				return echo.ErrUnauthorized
			}
			return next(c)
		}
	})
	chain = append(chain, deps.After()...)
	h := func(c echo.Context) error {
		if c.QueryParam("panic") != "" {
			panic("boom")
		}
		if _, err := io.ReadAll(c.Request().Body); err != nil {
			return err
		}
		return c.String(http.StatusOK, "fifth")
	}
	e.GET("/fifth", h, chain...)
	e.POST("/fifth", h, chain...)
}

// renderFifth answers fifth's errors as {"fifth_error":STATUS}, so that a
// response shows whether fifth rendered it.
func renderFifth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil {
			return nil
		}
		status := http.StatusInternalServerError
		var he *echo.HTTPError
		var le *guard.LimitError
		switch {
		case errors.As(err, &he):
			status = he.Code
		case errors.As(err, &le):
			status = http.StatusTooManyRequests
		}
		return c.JSON(status, map[string]int{"fifth_error": status})
	}
}

// TestNewRouter_FifthDialect checks that a dialect added as the router adds
// every dialect (one dialect.With line) gets its routes, the router's
// middleware, and the shared middleware inside its own error rendering: the
// body limit of its Config, recovery, and the per-address limit before its
// authentication.
func TestNewRouter_FifthDialect(t *testing.T) {
	tests := []struct {
		name    string
		perIP   int
		method  string
		path    string
		body    string
		auth    string
		repeat  int // requests before the one checked
		status  int
		resBody string
	}{
		{"its route", 0, http.MethodGet, "/fifth", "", "ok", 0, 200, "fifth"},
		{"its authentication", 0, http.MethodGet, "/fifth", "", "", 0, 401, `{"fifth_error":401}` + "\n"},
		{"a body within its limit", 0, http.MethodPost, "/fifth", strings.Repeat("x", 1000), "ok", 0, 200, "fifth"},
		{"a body over its limit", 0, http.MethodPost, "/fifth", strings.Repeat("x", 1001), "ok", 0, 413, `{"fifth_error":413}` + "\n"},
		{"a panic", 0, http.MethodGet, "/fifth?panic=1", "", "ok", 0, 500, `{"fifth_error":500}` + "\n"},
		{"the per-address limit, before authentication", 1, http.MethodGet, "/fifth", "", "", 1, 429, `{"fifth_error":429}` + "\n"},
	}
	// A router per per-address limit, each with a counter of its own.
	routers := map[int]*echo.Echo{}
	router := func(perIP int) *echo.Echo {
		if e, ok := routers[perIP]; ok {
			return e
		}
		var deps Deps
		if perIP > 0 {
			counter := ratelimit.NewMemory()
			t.Cleanup(func() { counter.Close() })
			deps.Limits = guard.NewLimits(counter, nil, guard.LimitsConfig{PerIP: perIP}, nil, nil)
		}
		routers[perIP] = newRouter(nil, true, deps, append(dialects(Config{}), dialect.With(registerFifth, fifthConfig{BodyLimit: "1K"})))
		return routers[perIP]
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := router(tt.perIP)
			var rec *httptest.ResponseRecorder
			for range tt.repeat + 1 {
				req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
				if tt.auth != "" {
					req.Header.Set("X-Fifth", tt.auth)
				}
				rec = httptest.NewRecorder()
				e.ServeHTTP(rec, req)
			}
			if rec.Code != tt.status || rec.Body.String() != tt.resBody {
				t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, rec.Code, rec.Body, tt.status, tt.resBody)
			}
			if rec.Header().Get(echo.HeaderXRequestID) == "" {
				t.Error("no X-Request-Id: the router's middleware did not run")
			}
		})
	}
}
