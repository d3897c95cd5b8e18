package callgear

import (
	"github.com/labstack/echo/v4"

	"switchboard/handlers/dialect"
)

// RegisterStore is Register over st instead of deps.Store, for the tests'
// fake stores.
func RegisterStore(e *echo.Echo, st Store, deps dialect.Deps, cfg Config) {
	register(e, st, deps, cfg)
}
