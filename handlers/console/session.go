package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/auth"
	"switchboard/models"
	"switchboard/store"
)

// The cookies: the session's token, and the sign-in form's CSRF token
// (double-submitted: the form carries the cookie's value back).
const (
	cookieSession = "sb_console"
	cookieLogin   = "sb_console_login"
	// csrfField is the forms' field and csrfHeader htmx's header.
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

// session is the signed-in agent of a request.
type session struct {
	store.ConsoleSession
	Agent models.Agent
}

const sessionKey = "console.session"

// sessionOf returns the request's session; requireSession put it there.
func sessionOf(c echo.Context) session {
	s, _ := c.Get(sessionKey).(session)
	return s
}

// newToken returns 32 random bytes in URL-safe base64.
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// tokenHash is what the store keeps of a session's token.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// fingerprint is a digest of an agent's password hash: it changes when the
// password does, and says nothing about the password.
func fingerprint(passwordHash string) string {
	h := sha256.Sum256([]byte("console-session\x00" + passwordHash))
	return hex.EncodeToString(h[:16])
}

// secure reports whether the request came over TLS (to the server, or to
// a proxy in front that says so): its cookies are then Secure.
func secure(c echo.Context) bool { return c.Scheme() == "https" }

func (con *console) setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: secure(c), SameSite: http.SameSiteLaxMode})
}

// loginPage is GET /console/login: the sign-in form.
func (con *console) loginPage(c echo.Context) error {
	return con.showLogin(c, http.StatusOK, "", c.QueryParam("next"))
}

// showLogin renders the sign-in form with a fresh CSRF token (and its
// cookie) and the problem, if any.
func (con *console) showLogin(c echo.Context, status int, problem, next string) error {
	token, err := newToken()
	if err != nil {
		return err
	}
	con.setCookie(c, cookieLogin, token, 3600)
	return con.render(c, status, "login", pageData{Title: "Sign in", CSRF: token, Error: problem, Next: safeNext(next)})
}

// safeNext returns next when it is a path of the console, else the inbox:
// the form never sends a signed-in agent off the site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, prefix) || strings.HasPrefix(next, "//") {
		return prefix
	}
	return u.RequestURI()
}

// login is POST /console/login: it checks the email and password as REVE's
// Basic auth does (bcrypt, the failed-login throttle), then starts a
// session and sends the agent on to next. A wrong password shows the form
// again (401), a throttled one says when to retry (429).
func (con *console) login(c echo.Context) error {
	cookie, err := c.Cookie(cookieLogin)
	if err != nil || !sameToken(cookie.Value, c.FormValue(csrfField)) {
		return errCSRF
	}
	email, password, next := strings.TrimSpace(c.FormValue("email")), c.FormValue("password"), c.FormValue("next")
	if email == "" || password == "" {
		return con.showLogin(c, http.StatusUnprocessableEntity, "Enter your email and password.", next)
	}
	if con.passwords == nil {
		return errors.New("console: no password checker")
	}
	ctx := c.Request().Context()
	caller, err := con.passwords.Authenticate(ctx, email, password, c.RealIP())
	var throttled *auth.ThrottledError
	switch {
	case errors.As(err, &throttled):
		c.Response().Header().Set("Retry-After", strconv.Itoa(throttled.RetrySeconds()))
		return con.showLogin(c, http.StatusTooManyRequests, "Too many failed sign-ins: "+throttled.Error()+".", next)
	case errors.Is(err, auth.ErrBadCredentials):
		return con.showLogin(c, http.StatusUnauthorized, "Wrong email or password.", next)
	case err != nil:
		return err
	}
	agent, err := con.store.Agent(ctx, caller.AccountID, caller.AgentID)
	if err != nil {
		return err
	}
	token, err := newToken()
	if err != nil {
		return err
	}
	csrf, err := newToken()
	if err != nil {
		return err
	}
	// Sessions that ended are deleted as new ones start: no worker needed.
	if _, err := con.store.ExpireConsoleSessions(ctx, time.Now()); err != nil {
		con.log.WarnContext(ctx, "console: expire sessions", "err", err)
	}
	if _, err := con.store.CreateConsoleSession(ctx, store.NewConsoleSession{TokenHash: tokenHash(token), AccountID: agent.AccountID,
		AgentID: agent.ID, CSRFToken: csrf, PasswordFingerprint: fingerprint(agent.PasswordHash), TTL: con.cfg.SessionTTL}); err != nil {
		return err
	}
	con.setCookie(c, cookieSession, token, int(con.cfg.SessionTTL.Seconds()))
	con.setCookie(c, cookieLogin, "", -1)
	return seeOther(c, safeNext(next))
}

// logout is POST /console/logout: it ends the session and shows the
// sign-in form.
func (con *console) logout(c echo.Context) error {
	if err := con.store.DeleteConsoleSession(c.Request().Context(), sessionOf(c).TokenHash); err != nil {
		return err
	}
	con.setCookie(c, cookieSession, "", -1)
	return seeOther(c, pathLogin)
}

// errSignedOut is a request without a valid session.
var errSignedOut = errors.New("not signed in")

// requireSession returns the middleware that lets a request through only
// with a live session whose agent is enabled and whose password is the one
// it signed in with, and whose role the route's access allows. A session
// whose agent's password has changed is deleted, with every other session
// of the agent.
func (con *console) requireSession(need access) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cookie, err := c.Cookie(cookieSession)
			if err != nil || cookie.Value == "" {
				return errSignedOut
			}
			ctx := c.Request().Context()
			v, err := con.store.ConsoleSessionByToken(ctx, tokenHash(cookie.Value))
			if errors.Is(err, store.ErrNotFound) {
				return errSignedOut
			}
			if err != nil {
				return err
			}
			if !v.Agent.Enabled || subtle.ConstantTimeCompare([]byte(fingerprint(v.Agent.PasswordHash)), []byte(v.PasswordFingerprint)) != 1 {
				if _, err := con.store.DeleteConsoleSessionsOf(ctx, v.AccountID, v.AgentID); err != nil {
					return err
				}
				return errSignedOut
			}
			switch role := v.Agent.Role; {
			case need == superadmins && role != models.RoleSuperadmin,
				need == admins && role != models.RoleSuperadmin && role != models.RoleAdmin:
				return errForbidden
			}
			c.Set(sessionKey, session{ConsoleSession: v.ConsoleSession, Agent: v.Agent})
			return next(c)
		}
	}
}

// errCSRF is a POST whose CSRF token is missing or wrong.
var errCSRF = errors.New("the form's security token is missing or wrong")

// errForbidden is a page the agent's role may not see.
var errForbidden = errors.New("your role may not do this")

// requireCSRF lets a POST through only with the session's CSRF token in
// the X-CSRF-Token header (htmx) or the csrf form field.
func requireCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		got := c.Request().Header.Get(csrfHeader)
		if got == "" {
			got = c.FormValue(csrfField)
		}
		if !sameToken(got, sessionOf(c).CSRFToken) {
			return errCSRF
		}
		return next(c)
	}
}

// sameToken compares two tokens in constant time; an empty one matches
// nothing.
func sameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// seeOther answers a form that went through: 303 to to, or for htmx
// (HX-Request) 204 with HX-Redirect, which htmx follows.
func seeOther(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") != "" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}
