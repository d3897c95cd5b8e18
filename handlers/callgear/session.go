package callgear

import (
	"errors"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/handlers/errkind"
	"switchboard/models"
	"switchboard/store"
)

// loginIn is login.user's params.
type loginIn struct {
	Login    string
	Password string
}

// sessionData is login.user's result data.
type sessionData struct {
	AccessToken string `json:"access_token"`
	// ExpireAt is when the session ends, in unix seconds.
	ExpireAt int64 `json:"expire_at"`
	// AppID is the id of the agent's account.
	AppID int64 `json:"app_id"`
}

// emptyData is the result data of a method that returns nothing: {}.
type emptyData struct{}

// loginUser is login.user {login, password}: it checks the agent's email
// and password and issues a session access token that acts as that agent
// for an hour, on this endpoint only, with the scopes of the agent's role
// (auth.RoleScopes). Errors: -32602 for missing or mistyped
// params, -32001 auth_error for a wrong login or password or a disabled
// agent.
func (a *api) loginUser(c echo.Context, _ auth.Caller, params map[string]any) (any, error) {
	ctx := c.Request().Context()
	var p problems
	in := decodeLogin(params, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	if a.passwords == nil {
		return nil, errkind.AsInternal(errNoPasswords)
	}
	cl, err := a.passwords.Authenticate(ctx, in.Login, in.Password, c.RealIP())
	if err != nil {
		return nil, err
	}
	exp := a.now().Add(sessionTTL).Truncate(time.Second)
	key, token, err := a.keys.Issue(ctx, cl.AccountID, auth.KeySpec{AgentID: &cl.AgentID, Name: SessionKeyName,
		Kind: models.KeySession, Scopes: auth.RoleScopes(cl.Role), ExpiresAt: &exp})
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The agent was removed between the password check and the key.
		return nil, fmt.Errorf("issue session key: %w: %w", auth.ErrBadCredentials, err)
	case err != nil:
		// The spec is the handler's, not the client's: a field error is a
		// bug (an unavailable database stays one).
		return nil, errkind.AsInternal(fmt.Errorf("issue session key: %w", err))
	}
	if key.ExpiresAt != nil {
		exp = *key.ExpiresAt
	}
	return sessionData{AccessToken: token, ExpireAt: exp.Unix(), AppID: cl.AccountID}, nil
}

// decodeLogin reads login.user's params, recording every problem in p.
func decodeLogin(params map[string]any, p *problems) loginIn {
	var in loginIn
	o := newObject(params, p)
	if in.Login, _ = o.str("login", true); !o.address("login", in.Login) {
		in.Login = ""
	}
	in.Password, _ = o.str("password", true)
	o.unexpected()
	return in
}

// logoutUser is logout.user {access_token}: it ends the login.user session
// the token names, which then is refused as access_token_invalid. Its
// result data is {}. Errors: -32001 for the token, -32602
// invalid_parameter_value on access_token for a permanent API key, which
// only the operator revokes.
func (a *api) logoutUser(c echo.Context, cl auth.Caller, params map[string]any) (any, error) {
	ctx := c.Request().Context()
	var p problems
	o := newObject(params, &p)
	o.skip("access_token")
	o.unexpected()
	if err := p.err(); err != nil {
		return nil, err
	}
	owner, err := a.store.APIKey(ctx, cl.KeyID)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted since it was checked: it no longer works either way.
		return nil, fmt.Errorf("%w: key %s is gone: %w", auth.ErrInvalidToken, cl.KeyID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read session key: %w", err)
	}
	if owner.Key.Kind != models.KeySession {
		return nil, newError(mInvalidValue, "access_token", nil,
			"Invalid value of parameter access_token: not a login.user session; revoke API keys with `switchboard key revoke`")
	}
	if _, err := a.store.RevokeAPIKey(ctx, cl.KeyID); err != nil {
		return nil, fmt.Errorf("revoke session key: %w", err)
	}
	// This replica stops trusting the token at once; others within their
	// key cache's few seconds.
	if f, ok := a.keys.(interface{ Forget(id string) }); ok {
		f.Forget(cl.KeyID)
	}
	return emptyData{}, nil
}
