package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// pages are the parsed templates, one set per page, each with the layout
// and the shared parts.
type pages struct {
	byName map[string]*template.Template
}

// pageNames are the templates/<name>.html that are whole pages.
var pageNames = []string{"login", "inbox", "case", "offline", "admin", "deliveries", "error"}

var funcs = template.FuncMap{
	"when": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"deref":    func(t *time.Time) time.Time { return *t },
	"at":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"statuses": func() []models.CaseStatus { return statuses },
	"channels": models.Channels,
	"agentName": func(a *models.Agent) string {
		if a == nil {
			return ""
		}
		if n := a.FullName(); n != "" {
			return n
		}
		return a.Email
	},
	"addresses": addresses,
	"eqID":      func(p *int64, id int64) bool { return p != nil && *p == id },
}

var statuses = []models.CaseStatus{models.StatusNew, models.StatusOpen, models.StatusPending, models.StatusOnHold, models.StatusClosed}

// addresses returns a stored address list (a JSON array of strings) as
// comma-separated text; text that is no such array is returned as it is.
func addresses(stored string) string {
	var list []string
	if err := json.Unmarshal([]byte(stored), &list); err != nil {
		return stored
	}
	return strings.Join(list, ", ")
}

// parsePages parses every page with the layout and the shared parts.
func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// pageData is what every page's template gets.
type pageData struct {
	Title string
	// CSRF is the token the page's forms send back.
	CSRF  string
	Error string
	// Next is where the sign-in form sends the agent.
	Next string
	// Agent is the signed-in agent; nil on the sign-in page.
	Agent *models.Agent
	// Page is the page's own data.
	Page any
}

// render writes the named page, or with fragment set only the named part of
// it, at status.
func (con *console) render(c echo.Context, status int, page string, d pageData) error {
	return con.renderPart(c, status, page, "layout", d)
}

func (con *console) renderPart(c echo.Context, status int, page, part string, d pageData) error {
	t, ok := con.pages.byName[page]
	if !ok {
		return fmt.Errorf("console: no page %q", page)
	}
	if s, ok := c.Get(sessionKey).(session); ok {
		if d.Agent == nil {
			d.Agent = &s.Agent
		}
		if d.CSRF == "" {
			d.CSRF = s.CSRFToken
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, part, d); err != nil {
		return fmt.Errorf("console: render %s/%s: %w", page, part, err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// assetNames are the files GET /console/assets/{name} serves, by name.
var assetNames = map[string]string{
	"console.js":       "assets/console.js",
	"console.css":      "assets/console.css",
	"htmx.min.js":      "assets/vendor/htmx/htmx.min.js",
	"htmx-LICENSE.txt": "assets/vendor/htmx/LICENSE",
}

// asset is GET /console/assets/{name}: the embedded styles, script and
// vendored htmx with its license; any other name is 404.
func (con *console) asset(c echo.Context) error {
	name, ok := assetNames[c.Param("name")]
	if !ok {
		return echo.ErrNotFound
	}
	b, err := fs.ReadFile(assetFiles, name)
	if err != nil {
		return err
	}
	ct := mime.TypeByExtension(path.Ext(c.Param("name")))
	if ct == "" {
		ct = "application/octet-stream"
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, ct, b)
}

// renderErrors is the console's error pages: the one place that turns an
// error into a status. A request without a session goes to the sign-in
// page (htmx and the event stream get 401 with HX-Redirect); a bad CSRF
// token or a page above the agent's role gets 403; what is not the
// account's gets 404; anything unexpected is logged and shown as 500.
func (con *console) renderErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		req := c.Request()
		status, msg := http.StatusInternalServerError, "Something went wrong on the server; it has been logged."
		var he *echo.HTTPError
		var fe store.FieldErrors
		switch {
		case errors.Is(err, errSignedOut):
			if req.Method == http.MethodGet && req.Header.Get("HX-Request") == "" && !strings.HasPrefix(req.Header.Get("Accept"), "text/event-stream") {
				return c.Redirect(http.StatusSeeOther, pathLogin+"?next="+url.QueryEscape(req.URL.RequestURI()))
			}
			c.Response().Header().Set("HX-Redirect", pathLogin)
			status, msg = http.StatusUnauthorized, "Your session has ended: sign in again."
		case errors.Is(err, errCSRF):
			status, msg = http.StatusForbidden, "Refused: "+errCSRF.Error()+". Reload the page and try again."
		case errors.Is(err, errForbidden):
			status, msg = http.StatusForbidden, "Refused: "+errForbidden.Error()+"."
		case errors.Is(err, store.ErrNotFound):
			status, msg = http.StatusNotFound, "Not found."
		case errors.As(err, &fe):
			status, msg = http.StatusUnprocessableEntity, fe.Error()
		case errors.Is(err, store.ErrUnavailable):
			status, msg = http.StatusServiceUnavailable, "The database is unavailable; try again shortly."
		case errors.As(err, &he):
			status, msg = he.Code, http.StatusText(he.Code)
		default:
			con.log.ErrorContext(req.Context(), "console", "err", err, "path", req.URL.Path,
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		}
		return con.render(c, status, "error", pageData{Title: strconv.Itoa(status) + " " + http.StatusText(status), Error: msg})
	}
}
