package callgear_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/handlers/callgear"
	"switchboard/store"
	"switchboard/store/storetest"
)

// TestEndpoint_Envelope checks the JSON-RPC envelope: each malformed request
// gets its error object, with the id echoed when it could be read.
func TestEndpoint_Envelope(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		params := `{"access_token":"` + f.token + `","offline_messages":[{"phone":"+14155550100","site_id":` + mustJSON(t, f.site.ID) + `}]}`
		tests := []struct {
			name     string
			body     string
			code     int
			mnemonic string
			field    string
			id       string
		}{
			{"malformed JSON", `{"jsonrpc":"2.0","id":1,`, -32700, "parse_error", "", "null"},
			{"empty body", ``, -32700, "parse_error", "", "null"},
			{"trailing data", `{"jsonrpc":"2.0","id":1,"method":"upload.chats"} x`, -32700, "parse_error", "", "null"},
			{"batch", `[{"jsonrpc":"2.0","id":1,"method":"upload.offline_messages","params":` + params + `}]`, -32099, "batch_operations_not_supported", "", "null"},
			{"empty batch", `[]`, -32099, "batch_operations_not_supported", "", "null"},
			{"notification", `{"jsonrpc":"2.0","method":"upload.offline_messages","params":` + params + `}`, -32099, "notifications_not_supported", "", "null"},
			{"not an object", `"upload.chats"`, -32600, "invalid_request", "", "null"},
			{"wrong jsonrpc", `{"jsonrpc":"1.0","id":7,"method":"upload.offline_messages","params":` + params + `}`, -32600, "invalid_request", "jsonrpc", "7"},
			{"jsonrpc a number", `{"jsonrpc":2.0,"id":7,"method":"upload.offline_messages"}`, -32600, "invalid_request", "jsonrpc", "7"},
			{"no jsonrpc", `{"id":"a","method":"upload.offline_messages"}`, -32600, "invalid_request", "jsonrpc", `"a"`},
			{"null id", `{"jsonrpc":"2.0","id":null,"method":"upload.chats"}`, -32600, "invalid_request", "id", "null"},
			{"object id", `{"jsonrpc":"2.0","id":{},"method":"upload.chats"}`, -32600, "invalid_request", "id", "null"},
			{"no method", `{"jsonrpc":"2.0","id":"x-1"}`, -32600, "invalid_request", "method", `"x-1"`},
			{"method a number", `{"jsonrpc":"2.0","id":3,"method":5}`, -32600, "invalid_request", "method", "3"},
			{"params an array", `{"jsonrpc":"2.0","id":3,"method":"upload.chats","params":[1]}`, -32600, "invalid_request", "params", "3"},
			{"params null", `{"jsonrpc":"2.0","id":3,"method":"upload.chats","params":null}`, -32600, "invalid_request", "params", "3"},
			{"another member", `{"jsonrpc":"2.0","id":3,"method":"upload.chats","params":{},"extra":1}`, -32600, "invalid_request", "extra", "3"},
			{"unknown method", `{"jsonrpc":"2.0","id":3,"method":"get.calls_report","params":` + params + `}`, -32601, "method_not_found", "method", "3"},
			{"method in another case", `{"jsonrpc":"2.0","id":3,"method":"UPLOAD.CHATS","params":{}}`, -32601, "method_not_found", "method", "3"},
			{"no params", `{"jsonrpc":"2.0","id":3,"method":"upload.chats"}`, -32602, "required_parameter_missed", "access_token", "3"},
			{"big number id echoed as written", `{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"nope"}`, -32601, "method_not_found", "method", "123456789012345678901234567890"},
			{"fraction id echoed", `{"jsonrpc":"2.0","id":-1.5e3,"method":"nope"}`, -32601, "method_not_found", "method", "-1.5e3"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.counts(t)
				res := assertError(t, f.post(t, tt.body), http.StatusOK, tt.code, tt.mnemonic, tt.field)
				if string(res.ID) != tt.id {
					t.Errorf("id = %s, want %s", res.ID, tt.id)
				}
				f.assertUnchanged(t, before)
			})
		}
	})
}

// TestEndpoint_Auth checks the access token of every method that takes one,
// and the upload scope.
func TestEndpoint_Auth(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		methods := map[string]obj{
			"upload.offline_messages": {"offline_messages": []any{f.offlineItem()}},
			"upload.chats":            {"chats": []any{f.chatItem()}},
			"delete.offline_messages": {"id": f.notUploaded.ID},
			"delete.chats":            {"id": 1},
			"logout.user":             {},
		}
		tests := []struct {
			name     string
			token    any // nil: left out
			code     int
			mnemonic string
			field    string
			logout   bool // whether logout.user answers the same
		}{
			{"missing access_token", nil, -32602, "required_parameter_missed", "access_token", true},
			{"empty access_token", "", -32602, "required_parameter_missed", "access_token", true},
			{"access_token a number", 5, -32602, "data_type_error", "access_token", true},
			{"wrong token", "not-a-token", -32001, "access_token_invalid", "", true},
			{"revoked key", f.revokedToken, -32001, "access_token_invalid", "", true},
			{"expired session", f.expiredSession, -32001, "access_token_expired", "", true},
			{"key without the upload scope", f.readToken, -32003, "forbidden", "", false},
		}
		for _, tt := range tests {
			for method, params := range methods {
				if method == "logout.user" && !tt.logout {
					continue
				}
				t.Run(tt.name+"/"+method, func(t *testing.T) {
					p := with(params, "access_token", tt.token)
					before := f.counts(t)
					assertError(t, f.call(t, method, p), http.StatusOK, tt.code, tt.mnemonic, tt.field)
					f.assertUnchanged(t, before)
				})
			}
		}
	})
}

// TestEndpoint_BodyLimit checks that a body over the limit is a 413 with a
// JSON-RPC error, and writes nothing.
func TestEndpoint_BodyLimit(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		before := f.counts(t)
		item := with(f.offlineItem(), "message", strings.Repeat("x", 3000))
		body := mustJSON(t, obj{"jsonrpc": "2.0", "id": 1, "method": "upload.offline_messages",
			"params": obj{"access_token": f.token, "offline_messages": items(400, item)}})
		for name, r := range map[string]response{
			"with Content-Length": f.post(t, body),
			// A chunked body has no length to check first: the limit stops the read.
			"chunked": f.send(t, http.MethodPost, "/data-api/v2.0", nil, io.MultiReader(strings.NewReader(body))),
		} {
			t.Run(name, func(t *testing.T) {
				res := assertError(t, r, http.StatusRequestEntityTooLarge, -32602, "data_limit_exceeded", "")
				if string(res.ID) != "null" {
					t.Errorf("id = %s, want null", res.ID)
				}
			})
		}
		f.assertUnchanged(t, before)
	})
}

// TestEndpoint_OnlyPost checks that the endpoint takes POST only. The GET
// goes to the router itself, past the spec check: openapi.yaml describes
// the endpoint's one operation, and a method the path does not have is the
// router's 405, outside every operation.
func TestEndpoint_OnlyPost(t *testing.T) {
	st := storetest.MustOpen(t, store.SQLite)
	f := mustFixture(t, st)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, callgear.Path, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET = %d %s, want 405", rec.Code, rec.Body)
	}
}

// TestEndpoint_VendorPath checks that the endpoint answers at CallGear's own
// path (/v2.0) as it does at /data-api/v2.0: an upload there is written and
// answered with its ids, an error in the same JSON-RPC shape.
func TestEndpoint_VendorPath(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		body := mustJSON(t, obj{"jsonrpc": "2.0", "id": 7, "method": "upload.offline_messages",
			"params": obj{"access_token": f.token, "offline_messages": items(1, f.offlineItem())}})
		before := f.counts(t)
		var res rpcResponse
		decode(t, f.send(t, http.MethodPost, callgear.VendorPath, nil, strings.NewReader(body)), &res)
		if res.Error != nil || string(res.ID) != "7" || len(res.Result) == 0 {
			t.Fatalf("answer at %s = id %s result %s error %+v", callgear.VendorPath, res.ID, res.Result, res.Error)
		}
		if after := f.counts(t); after.messages != before.messages+1 {
			t.Errorf("messages %d -> %d, want one more", before.messages, after.messages)
		}
		bad := f.send(t, http.MethodPost, callgear.VendorPath, nil, strings.NewReader(`{"jsonrpc":"2.0","id":8,"method":"upload.nothing","params":{}}`))
		want := f.post(t, `{"jsonrpc":"2.0","id":8,"method":"upload.nothing","params":{}}`)
		if bad.status != want.status || bad.body != want.body {
			t.Errorf("unknown method at %s = %d %s\nat %s = %d %s", callgear.VendorPath, bad.status, bad.body, callgear.Path, want.status, want.body)
		}
	})
}
