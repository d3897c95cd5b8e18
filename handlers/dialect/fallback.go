package dialect

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// FallbackRoute is the name of the routes Fallback adds, which answer only
// errors: they are no operation of the API.
const FallbackRoute = "dialect-fallback"

// fallbackMethods returns the methods Fallback answers 405 to on a path
// that does not take them.
func fallbackMethods() []string {
	return []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions}
}

// Fallback makes e answer, in a dialect's own error format, the requests
// under the dialect's paths that none of its routes take, where Echo would
// answer its own {"message":"Not Found"}:
//   - a method that a path of routes does not take gets 405 with Allow
//     listing those it does (OPTIONS gets 204 with the same Allow);
//   - a path under one of prefixes that no route has gets 404.
//
// mw is what runs around those answers: the dialect's error rendering
// first, then the shared middleware before authentication (Deps.Before),
// so that an unknown path is limited like any other request and needs no
// credentials to be told it does not exist.
func Fallback(e *echo.Echo, routes []*echo.Route, prefixes []string, mw ...echo.MiddlewareFunc) {
	allow := map[string][]string{}
	for _, r := range routes {
		if !slices.Contains(allow[r.Path], r.Method) {
			allow[r.Path] = append(allow[r.Path], r.Method)
		}
	}
	for path, methods := range allow {
		header := strings.Join(slices.Sorted(slices.Values(append(slices.Clone(methods), http.MethodOptions))), ", ")
		refuse := func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderAllow, header)
			if c.Request().Method == http.MethodOptions {
				return c.NoContent(http.StatusNoContent)
			}
			return echo.ErrMethodNotAllowed
		}
		// Echo would look past a path that has routes for other methods
		// to a prefix's catch-all below and answer 404, so each method
		// the path does not take gets a route of its own.
		for _, m := range fallbackMethods() {
			if !slices.Contains(methods, m) {
				e.Add(m, path, refuse, mw...).Name = FallbackRoute
			}
		}
	}
	for _, p := range prefixes {
		e.RouteNotFound(strings.TrimSuffix(p, "/")+"/*", func(echo.Context) error {
			return echo.ErrNotFound
		}, mw...).Name = FallbackRoute
	}
}
