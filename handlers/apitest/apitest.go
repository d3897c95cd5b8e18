// Package apitest checks requests and responses against openapi.yaml
// with kin-openapi, for the handler and end-to-end tests: a route the spec
// does not have, a status it does not document, a response field missing or
// of the wrong type, and a request outside the spec that the server accepted
// all fail the test, naming the route and the field. Only tests import it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"switchboard/api"
)

// Spec is the loaded OpenAPI document and its router.
type Spec struct {
	Doc    *openapi3.T
	router routers.Router
}

// load parses the embedded spec once per test binary: it is read-only after
// loading, and parsing it for every test would cost more than the tests.
var load = sync.OnceValues(func() (*Spec, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.Spec())
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not valid: %w", err)
	}
	// The tests' servers listen on random local ports: match paths alone.
	doc.Servers = nil
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route openapi.yaml: %w", err)
	}
	return &Spec{Doc: doc, router: r}, nil
})

// MustSpec returns the loaded spec, failing the test when it does not load
// or validate.
func MustSpec(tb testing.TB) *Spec {
	tb.Helper()
	s, err := load()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Exchange is one request and the response it got.
type Exchange struct {
	Request *http.Request
	// Body is the request body, already read.
	Body         []byte
	Status       int
	Header       http.Header
	ResponseBody []byte
}

// Check returns every way the exchange departs from the spec; nil when it
// conforms. A request outside the spec is a departure only when the server
// accepted it (see refused): tests send bad requests on purpose, and those
// must be refused with a documented status and body.
func (s *Spec) Check(ctx context.Context, x Exchange) error {
	req := x.Request.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(x.Body))
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s: no such operation in openapi.yaml (%v)", x.Request.Method, x.Request.URL.Path, err)
	}
	name := x.Request.Method + " " + route.Path
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	var errs []error
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && !refused(x) {
		errs = append(errs, fmt.Errorf("%s: the request is outside openapi.yaml, yet it was answered %d:\n%s", name, x.Status, describe(err)))
	}
	// The request body was read by the request check; the response check
	// reads only the route from it.
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.Status,
		Header:                 x.Header,
		Body:                   io.NopCloser(bytes.NewReader(x.ResponseBody)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		errs = append(errs, fmt.Errorf("%s: response %d does not match openapi.yaml:\n%s\nbody: %s", name, x.Status, describe(err), clip(x.ResponseBody)))
	}
	return errors.Join(errs...)
}

// refused reports whether the server turned the request down: a 4xx or 5xx,
// or a JSON-RPC error object, which CallGear sends with HTTP 200.
func refused(x Exchange) bool {
	if x.Status >= 400 {
		return true
	}
	var rpc struct {
		JSONRPC string          `json:"jsonrpc"`
		Error   json.RawMessage `json:"error"`
	}
	if json.Unmarshal(x.ResponseBody, &rpc) != nil {
		return false
	}
	return rpc.JSONRPC != "" && len(rpc.Error) > 0 && string(rpc.Error) != "null"
}

// Wrap returns h checked by the spec: every request it serves and every
// response it writes is checked, and departures fail tb.
func Wrap(tb testing.TB, h http.Handler) http.Handler {
	tb.Helper()
	s := MustSpec(tb)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			tb.Errorf("apitest: read request body: %v", err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		x := Exchange{Request: r, Body: body, Status: rec.Code, Header: rec.Header(), ResponseBody: rec.Body.Bytes()}
		if err := s.Check(context.Background(), x); err != nil {
			tb.Errorf("%v", err)
		}
	})
}

// Transport returns base (http.DefaultTransport when nil) checked by the
// spec: for end-to-end tests whose server is another process.
func Transport(tb testing.TB, base http.RoundTripper) http.RoundTripper {
	tb.Helper()
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{tb: tb, spec: MustSpec(tb), base: base}
}

type transport struct {
	tb   testing.TB
	spec *Spec
	base http.RoundTripper
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	res, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(out))
	x := Exchange{Request: r, Body: body, Status: res.StatusCode, Header: res.Header, ResponseBody: out}
	if err := t.spec.Check(context.Background(), x); err != nil {
		t.tb.Errorf("%v", err)
	}
	return res, nil
}

// describe lists the problems of a validation, one per line, each naming
// the field it is about as a JSON pointer (or the parameter or header).
func describe(err error) string {
	var lines []string
	walk(err, "", func(prefix string, e error) {
		var se *openapi3.SchemaError
		if errors.As(e, &se) {
			field := "/" + strings.Join(se.JSONPointer(), "/")
			lines = append(lines, fmt.Sprintf("  - %sfield %s: %s", prefix, field, oneLine(errors.New(se.Reason))))
			return
		}
		lines = append(lines, "  - "+prefix+oneLine(e))
	})
	return strings.Join(lines, "\n")
}

// walk calls fn on each leaf of err's tree (kin-openapi nests multi-errors
// in request and response errors, and the errors of an allOf or oneOf branch
// in the schema error that names it), with what the outer errors say it is
// about.
func walk(err error, prefix string, fn func(string, error)) {
	switch e := err.(type) {
	case openapi3.MultiError:
		for _, inner := range e {
			walk(inner, prefix, fn)
		}
	case *openapi3.SchemaError:
		// An allOf or oneOf keeps why its branch failed (with pointers from
		// the same root): that names the field itself.
		if e.Origin != nil {
			found := false
			walk(e.Origin, prefix, func(p string, inner error) {
				var se *openapi3.SchemaError
				if errors.As(inner, &se) {
					found = true
					fn(p, inner)
				}
			})
			if found {
				return
			}
		}
		fn(prefix, e)
	case *openapi3filter.RequestError:
		p := prefix
		switch {
		case e.Parameter != nil:
			p += fmt.Sprintf("%s parameter %q: ", e.Parameter.In, e.Parameter.Name)
		case e.RequestBody != nil:
			p += "request body: "
		}
		if e.Err == nil {
			fn(p, e)
			return
		}
		walk(e.Err, p, fn)
	case *openapi3filter.ResponseError:
		if e.Err == nil {
			fn(prefix, e)
			return
		}
		walk(e.Err, prefix+"response: "+e.Reason+": ", fn)
	default:
		if inner := errors.Unwrap(err); inner != nil {
			walk(inner, prefix, fn)
			return
		}
		fn(prefix, err)
	}
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func clip(b []byte) string {
	const max = 600
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
