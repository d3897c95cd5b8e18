package callgear

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/store"
)

// getList runs a get method over cols: it reads params (the get methods'
// common params, user_id among them; any other is unexpected_parameters),
// checks user_id as the uploads do, and answers the page that list reads,
// with times in the account's time zone. Errors: -32602 for the params (see
// readList), entity_not_found or required_parameter_missed naming user_id,
// and the store's.
func getList[R any](a *api, c echo.Context, cl auth.Caller, params map[string]any, cols columns[R], spec listSpec,
	list func(ctx context.Context, accountID int64, q store.ListQuery) ([]R, int64, error)) (any, error) {
	loc, err := a.location(c.Request().Context(), cl.AccountID)
	if err != nil {
		return nil, err
	}
	return getListIn(a, c, cl, loc, params, cols, spec, list)
}

// getListIn is getList with the account's time zone already read.
func getListIn[R any](a *api, c echo.Context, cl auth.Caller, loc *time.Location, params map[string]any, cols columns[R], spec listSpec,
	list func(ctx context.Context, accountID int64, q store.ListQuery) ([]R, int64, error)) (any, error) {
	ctx := c.Request().Context()
	var p problems
	o := newObject(params, &p)
	o.skip("access_token")
	in := readList(o, loc, cols, spec)
	o.unexpected()
	if err := p.err(); err != nil {
		return nil, err
	}
	// readList took user_id and found nothing wrong with its form: read
	// again, it is a valid id or absent.
	if err := a.checkUser(ctx, cl, o.optID("user_id")); err != nil {
		return nil, err
	}
	rows, total, err := list(ctx, cl.AccountID, in.Query)
	if err != nil {
		return nil, listErrors(err)
	}
	return listOf(rows, total, cols, in.Fields, loc), nil
}

// nulls adds to cols, under each name, a column CallGear has and
// switchboard cannot fill: always null, returned by default, and neither
// filtered nor sorted on (filter_prohibited, sort_prohibited).
func nulls[R any](cols columns[R], names ...string) columns[R] {
	for _, n := range names {
		cols[n] = column[R]{byDefault: true, value: func(R) any { return nil }}
	}
	return cols
}
