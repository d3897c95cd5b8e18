package callgear_test

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
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"switchboard/handlers/apitest"
	"switchboard/handlers/callgear"
)

// resultData names the schema of each method's result.data in openapi.yaml.
// OpenAPI cannot tie a response to the request's method, so the spec offers
// every method's data to every result; this table makes the tests hold each
// method to its own.
var resultData = map[string]string{
	"upload.offline_messages":     "CallGearIdsData",
	"upload.chats":                "CallGearIdsData",
	"delete.offline_messages":     "CallGearIdsData",
	"delete.chats":                "CallGearIdsData",
	"login.user":                  "CallGearLoginUserData",
	"logout.user":                 "CallGearEmptyData",
	"get.employees":               "CallGearEmployeesData",
	"get.customer_users":          "CallGearCustomerUsersData",
	"get.sites":                   "CallGearSitesData",
	"get.campaigns":               "CallGearCampaignsData",
	"get.visitor_sessions_report": "CallGearVisitorSessionsData",
	"get.offline_messages_report": "CallGearRowsData",
	"get.chats_report":            "CallGearRowsData",
	"get.chat_messages_report":    "CallGearRowsData",
}

// specChecked is apitest.Wrap for CallGear: every request h serves and every
// response it writes is checked against openapi.yaml, and departures fail
// tb. It differs in two ways. CallGear refuses a call with HTTP 200 and a
// JSON-RPC error object, where apitest takes only a status of 400 or more
// for a refusal: a request outside the spec answered with a JSON-RPC error
// was refused, not accepted. And the endpoint's calls are held to their
// method: a call answered with a result must match its method's request
// schema, and the result's data its method's schema (resultData), each
// problem named by its field.
func specChecked(tb testing.TB, h http.Handler) http.Handler {
	tb.Helper()
	s := apitest.MustSpec(tb)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			tb.Errorf("spec check: read request body: %v", err)
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
		x := apitest.Exchange{Request: r, Body: body, Status: rec.Code, Header: rec.Header(), ResponseBody: rec.Body.Bytes()}
		if err := specCheck(s, x); err != nil {
			tb.Errorf("%v", err)
		}
	})
}

// specCheck is (*apitest.Spec).Check with CallGear's rules (see
// specChecked).
func specCheck(s *apitest.Spec, x apitest.Exchange) error {
	err := s.Check(context.Background(), x)
	if x.Request.URL.Path != callgear.Path && x.Request.URL.Path != callgear.VendorPath {
		return err
	}
	var res struct {
		Result *struct {
			Data any `json:"data"`
		} `json:"result"`
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(x.ResponseBody, &res) != nil {
		return err
	}
	if len(res.Error) > 0 && string(res.Error) != "null" {
		return dropRefusedRequest(err, x.Status)
	}
	if res.Result == nil {
		return err
	}
	route := x.Request.Method + " " + x.Request.URL.Path
	var req struct {
		Method string `json:"method"`
	}
	json.Unmarshal(x.Body, &req)
	errs := []error{err}
	data, known := resultData[req.Method]
	if !known {
		return errors.Join(err, fmt.Errorf("%s: method %q, which openapi.yaml does not have, was answered with a result", route, req.Method))
	}
	if e := matchSchema(s, requestSchema(s, req.Method), "", x.Body); e != nil {
		errs = append(errs, fmt.Errorf("%s: the %s request is outside openapi.yaml, yet it was answered with a result:\n%s", route, req.Method, e))
	}
	raw, _ := json.Marshal(res.Result.Data)
	if e := matchSchema(s, data, "/result/data", raw); e != nil {
		errs = append(errs, fmt.Errorf("%s: the result of %s does not match openapi.yaml's %s:\n%s\nbody: %s", route, req.Method, data, e, x.ResponseBody))
	}
	return errors.Join(errs...)
}

// dropRefusedRequest removes from err, a (*apitest.Spec).Check result, the
// finding that the request is outside the spec.
func dropRefusedRequest(err error, status int) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	// apitest words a request finding so; should that change, nothing is
	// dropped and the refusals fail the tests, which is the safe side.
	refused := fmt.Sprintf(": the request is outside openapi.yaml, yet it was answered %d:", status)
	var kept []error
	for _, e := range joined.Unwrap() {
		if !strings.Contains(e.Error(), refused) {
			kept = append(kept, e)
		}
	}
	return errors.Join(kept...)
}

// requestSchema returns the name of the method's request schema, as the
// discriminator of CallGearRequest maps it ("" when it has none).
func requestSchema(s *apitest.Spec, method string) string {
	req := s.Doc.Components.Schemas["CallGearRequest"]
	if req == nil || req.Value == nil || req.Value.Discriminator == nil {
		return ""
	}
	ref := req.Value.Discriminator.Mapping[method].Ref
	return strings.TrimPrefix(ref, "#/components/schemas/")
}

// matchSchema validates the JSON document against the named component
// schema, and lists its problems one per line, each with its field as a
// JSON pointer under prefix.
func matchSchema(s *apitest.Spec, name, prefix string, doc []byte) error {
	ref := s.Doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("  - openapi.yaml has no schema %q", name)
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return fmt.Errorf("  - not JSON: %v", err)
	}
	err := ref.Value.VisitJSON(v, openapi3.MultiErrors())
	if err == nil {
		return nil
	}
	var lines []string
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, inner := range e {
				walk(inner)
			}
		case *openapi3.SchemaError:
			field := prefix
			if ptr := e.JSONPointer(); len(ptr) > 0 || prefix == "" {
				field += "/" + strings.Join(ptr, "/")
			}
			lines = append(lines, fmt.Sprintf("  - field %s: %s", field, e.Reason))
		default:
			lines = append(lines, "  - "+err.Error())
		}
	}
	walk(err)
	return errors.New(strings.Join(lines, "\n"))
}

// TestSpecCheck checks specCheck's own rules on exchanges made up here: a
// refusal is a JSON-RPC error whatever the request, a result answers only a
// request inside the spec, and each method's result has its own data.
func TestSpecCheck(t *testing.T) {
	s := apitest.MustSpec(t)
	const (
		login   = `{"jsonrpc":"2.0","id":1,"method":"login.user","params":{"login":"a@example.com","password":"x"}}`
		upload  = `{"jsonrpc":"2.0","id":1,"method":"upload.chats","params":{"access_token":"t","chats":[]}}`
		unknown = `{"jsonrpc":"2.0","id":1,"method":"get.calls","params":{"access_token":"t"}}`
		session = `{"jsonrpc":"2.0","id":1,"result":{"data":{"access_token":"s","expire_at":1709652600,"app_id":1},"metadata":{}}}`
		ids     = `{"jsonrpc":"2.0","id":1,"result":{"data":[{"id":7}],"metadata":{}}}`
		refused = `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid value of parameter chats: must not be empty","data":{"mnemonic":"invalid_parameter_value","field":"chats"}}}`
	)
	tests := []struct {
		name, request, response string
		want                    []string // in the error, in order; none: no error
	}{
		{"a result of the method", login, session, nil},
		{"a refused request outside the spec", upload, refused, nil},
		{"an unknown method refused", unknown, `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found","data":{"mnemonic":"method_not_found"}}}`, nil},
		{"a request outside the spec answered with a result", upload, ids,
			[]string{"the request is outside openapi.yaml, yet it was answered 200", "the upload.chats request is outside openapi.yaml", "field /params/chats: minimum number of items is 1"}},
		{"an unknown method answered with a result", unknown, ids, []string{`method "get.calls", which openapi.yaml does not have, was answered with a result`}},
		{"another method's result", login, ids, []string{"the result of login.user does not match openapi.yaml's CallGearLoginUserData", "field /result/data: value must be an object"}},
		{"a broken field", login, strings.Replace(session, `"app_id":1`, `"app_id":"1"`, 1), []string{"field /result/data/app_id: value must be an integer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, callgear.Path, strings.NewReader(tt.request))
			req.Header.Set("Content-Type", "application/json")
			header := http.Header{"Content-Type": {"application/json; charset=UTF-8"}}
			err := specCheck(s, apitest.Exchange{Request: req, Body: []byte(tt.request), Status: http.StatusOK, Header: header, ResponseBody: []byte(tt.response)})
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("specCheck = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("specCheck = nil, want an error with %q", tt.want)
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("specCheck error lacks %q:\n%s", w, err)
				}
				msg = msg[i+len(w):]
			}
		})
	}
}
