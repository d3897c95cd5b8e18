package callgear_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/handlers/callgear"
	"switchboard/handlers/jsonbody"
	"switchboard/store"
	"switchboard/store/storetest"
)

// FuzzEndpoint posts fuzzed bodies to the endpoint through the router on
// SQLite, and fails on a panic, a 5xx, or an answer that is not a JSON-RPC
// response with CallGear's error object. TOKEN in a body stands for a valid
// access token, so that mutations reach the methods past authentication.
func FuzzEndpoint(f *testing.F) {
	st := storetest.MustOpen(f, store.SQLite)
	fx := mustFixture(f, st)
	rpc := func(method, params string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":` + params + `}`
	}
	seeds := []string{
		// The vendor's request structures, with values.
		rpc("upload.offline_messages", fmt.Sprintf(`{"access_token":"TOKEN","user_id":1,"offline_messages":[{"date_time":"2024-03-05 14:30:00","name":"Bob","phone":"+14155550100","email":"bob@example.com","message":"Hi","visitor_session_id":%d,"campaign_id":%d,"site_id":%d,"source_id":1,"form_name":"f","ext_id":"e1","user_fields":[{"ext_id":"a","value":"b"}]}]}`,
			fx.session.ID, fx.campaign.ID, fx.site.ID)),
		rpc("upload.chats", fmt.Sprintf(`{"access_token":"TOKEN","user_id":1,"chats":[{"start_date_time":"2024-03-05 14:30:00","name":"Bob","phone":"+14155550100","email":"bob@example.com","status":"succeed","initiator":"visitor","visitor_session_id":%d,"campaign_id":%d,"site_id":%d,"messages":[{"date_time":"2024-03-05 14:30:01","source":"operator","employee_id":%d,"message":"Hello"},{"date_time":"2024-03-05 14:30:02","source":"visitor","message":"Hi"}]}]}`,
			fx.session.ID, fx.campaign.ID, fx.site.ID, fx.agent.ID)),
		rpc("upload.offline_messages", fmt.Sprintf(`{"access_token":"TOKEN","offline_messages":[{"email":"x@example.com","campaign_id":-1,"site_id":%d,"ext_id":12}]}`, fx.site2.ID)),
		rpc("login.user", `{"login":"boss@example.com","password":"`+password+`"}`),
		rpc("login.user", `{"login":"boss@example.com","password":"nope"}`),
		rpc("logout.user", `{"access_token":"TOKEN"}`),
		rpc("delete.offline_messages", `{"access_token":"TOKEN","id":[1,2,3]}`),
		rpc("delete.chats", `{"access_token":"TOKEN","id":1}`),
		rpc("upload.chats", `{"access_token":"TOKEN","chats":[{"start_date_time":"2024-02-30 10:00:00","status":"won","campaign_id":-1,"messages":[{"source":"operator"},5]}]}`),
		rpc("upload.offline_messages", `{"access_token":"TOKEN","offline_messages":[{"site_id":99999999999999999999,"phone":8,"date_time":"9999-12-31 23:59:59"},[],null]}`),
		rpc("upload.offline_messages", `{"access_token":5}`),
		rpc("upload.offline_messages", `{"access_token":"nope"}`),
		rpc("nope", `{}`),
		`{"jsonrpc":"2.0","method":"upload.chats"}`,
		`[{"jsonrpc":"2.0","id":1}]`,
		`{"jsonrpc":"2.0","id":1,`,
		``, `null`, `"x"`, `{}`, `{"jsonrpc":"2.0","id":{},"method":"x"}`,
		`{"jsonrpc":"2.0","id":"\u0000","method":"upload.chats","params":{"access_token":"TOKEN","chats":[{"name":"a\u0000"}]}}`,
		// Keys given twice and strings that are not UTF-8 (issue 16).
		`{"jsonrpc":"2.0","id":1,"id":2,"method":"upload.chats","params":{}}`,
		rpc("upload.offline_messages", `{"access_token":"TOKEN","access_token":"x","offline_messages":[]}`),
		rpc("upload.offline_messages", "{\"access_token\":\"TOKEN\",\"offline_messages\":[{\"name\":\"\xff\",\"message\":\"\\ud800\"}]}"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		fuzzCall(t, fx, strings.ReplaceAll(body, "TOKEN", fx.token))
	})
}

// fuzzCall posts body to the endpoint through the spec-checked router, and
// fails on a panic, a 5xx, an answer that is not a JSON-RPC response with
// CallGear's error object or a {data, metadata} result, on an error answer
// that wrote any row, and on a result for a body with a string that is not
// UTF-8 or a key given twice.
func fuzzCall(t *testing.T, fx *fixture, body string) {
	t.Helper()
	handler := specChecked(t, fx.h)
	req := httptest.NewRequest(http.MethodPost, callgear.Path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	before := fx.counts(t)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	defer func() {
		var probe struct {
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &probe) != nil || len(probe.Error) > 0 {
			fx.assertUnchanged(t, before)
		}
	}()
	if rec.Code != http.StatusOK && rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("%q: status %d %s", body, rec.Code, rec.Body.String())
	}
	var res struct {
		JSONRPC string                     `json:"jsonrpc"`
		Members map[string]json.RawMessage `json:"-"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res.Members); err != nil {
		t.Fatalf("%q: the answer is not a JSON object: %s", body, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.JSONRPC != "2.0" {
		t.Fatalf("%q: no jsonrpc 2.0: %s", body, rec.Body.String())
	}
	id, hasID := res.Members["id"]
	result, hasResult := res.Members["result"]
	errObj, hasError := res.Members["error"]
	if !hasID || hasResult == hasError || len(res.Members) != 3 {
		t.Fatalf("%q: not a JSON-RPC response: %s", body, rec.Body.String())
	}
	if c := id[0]; c != 'n' && c != '"' && c != '-' && (c < '0' || c > '9') {
		t.Fatalf("%q: id %s", body, id)
	}
	// A body with a string that is not UTF-8 or a key given twice is
	// refused, whatever else it holds.
	var je *jsonbody.Error
	if hasResult && errors.As(jsonbody.Check([]byte(body)), &je) {
		t.Fatalf("%q: accepted a body with %v", body, je)
	}
	if hasResult {
		var r struct {
			Data     json.RawMessage `json:"data"`
			Metadata map[string]any  `json:"metadata"`
		}
		if err := json.Unmarshal(result, &r); err != nil || r.Data == nil || r.Metadata == nil || bytes.Equal(r.Data, []byte("null")) {
			t.Fatalf("%q: result is not {data, metadata}: %s", body, result)
		}
		return
	}
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Mnemonic string `json:"mnemonic"`
		} `json:"data"`
	}
	if err := json.Unmarshal(errObj, &e); err != nil || e.Code == 0 || e.Message == "" || e.Data.Mnemonic == "" || e.Code == -32603 {
		t.Fatalf("%q: error object %s", body, errObj)
	}
}
