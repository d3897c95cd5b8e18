package callgear_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store/storetest"
)

// fuzzMethods are the methods FuzzParams calls, by the fuzzed index.
var fuzzMethods = []string{
	"upload.offline_messages", "upload.chats", "login.user", "logout.user", "delete.offline_messages", "delete.chats",
}

// FuzzParams sends fuzzed params to each method inside a valid JSON-RPC
// envelope, so that every input reaches the method's own decoder, on every
// backend (SQLite, and PostgreSQL when it answers), with fuzzCall's checks:
// no 5xx or internal error, CallGear's error object, {data, metadata}
// results, and no row written by a refused call. TOKEN stands for a valid
// access token; SESSION, CAMPAIGN, SITE and AGENT for the fixture's ids.
func FuzzParams(f *testing.F) {
	var fxs []*fixture
	for _, b := range storetest.Backends(f) {
		fxs = append(fxs, mustFixture(f, storetest.MustOpen(f, b)))
	}
	seeds := []struct {
		method uint8
		params string
	}{
		{0, `{"access_token":"TOKEN","offline_messages":[{"date_time":"2024-03-05 14:30:00","name":"Bob","phone":"+14155550100","email":"bob@example.com","message":"Hi","visitor_session_id":SESSION,"campaign_id":CAMPAIGN,"site_id":SITE,"source_id":1,"form_name":"f","ext_id":"e1","user_fields":[{"ext_id":"a","value":"b"}]}]}`},
		{0, `{"access_token":"TOKEN","offline_messages":[{"message":"x","date_time":"2024-02-30 10:00:00"},{"email":"not-an-email"},{"phone":"0"},{"site_id":-1},{"campaign_id":"1"}]}`},
		{0, `{"access_token":"TOKEN","offline_messages":[]}`},
		{0, `{"access_token":"TOKEN","offline_messages":{}}`},
		{0, `{"access_token":"TOKEN","offline_messages":[{"message":"a\u0000b","name":"\ud800"}]}`},
		{0, `{"access_token":"TOKEN","offline_messages":[{"date_time":"0000-01-01 00:00:00"},{"date_time":"9999-12-31 23:59:60"},{"date_time":"2024-03-05T14:30:00Z"}]}`},
		{0, `{"access_token":"TOKEN","user_id":-1.5,"offline_messages":[{"visitor_session_id":99999999999999999999}]}`},
		{1, `{"access_token":"TOKEN","chats":[{"start_date_time":"2024-03-05 14:30:00","name":"Bob","status":"succeed","initiator":"visitor","visitor_session_id":SESSION,"campaign_id":CAMPAIGN,"site_id":SITE,"messages":[{"date_time":"2024-03-05 14:30:01","source":"operator","employee_id":AGENT,"message":"Hello"},{"date_time":"2024-03-05 14:30:02","source":"visitor","message":"Hi"}]}]}`},
		{1, `{"access_token":"TOKEN","chats":[{"start_date_time":"2024-03-05 14:30:00","status":"lost","initiator":"operator","messages":[]}]}`},
		{1, `{"access_token":"TOKEN","chats":[{"status":"x","initiator":"y","messages":[{"source":"robot","employee_id":-1},null,7]}]}`},
		{1, `{"access_token":"TOKEN","chats":[{"start_date_time":"2024-03-05 14:30:00","status":"succeed","messages":[{"date_time":"2024-03-05 14:29:59","source":"operator","employee_id":99999999999999999999}]}]}`},
		{1, `{"access_token":"TOKEN","chats":null}`},
		{2, `{"login":"boss@example.com","password":"PASSWORD"}`},
		{2, `{"login":"BOSS@example.com ","password":"PASSWORD"}`},
		{2, `{"login":"boss@example.com\u0000","password":"x"}`},
		{2, `{"login":"\udfff","password":""}`},
		{2, `{"login":5,"password":null}`},
		{3, `{"access_token":"TOKEN"}`},
		{3, `{"access_token":""}`},
		{3, `{"access_token":"TOKEN\u0000"}`},
		{4, `{"access_token":"TOKEN","id":[1,2,3]}`},
		{4, `{"access_token":"TOKEN","id":[]}`},
		{4, `{"access_token":"TOKEN","id":[-1,0,1.5,"2",99999999999999999999]}`},
		{5, `{"access_token":"TOKEN","id":1}`},
		{5, `{"access_token":"TOKEN","id":null}`},
		{5, `{"access_token":"TOKEN","id":{"a":1}}`},
		{0, `[]`}, {1, `null`}, {2, `"x"`}, {3, `{}`}, {4, `{"access_token":5}`}, {5, `{"access_token":"TOKEN","extra":1}`},
		// The limits, control characters and duplicate keys of issue 16.
		{0, `{"access_token":"TOKEN","offline_messages":[{"email":"b@example.com","site_id":SITE,"name":"` + strings.Repeat("n", models.MaxNameLen+1) + `","form_name":"a\tb"}]}`},
		{0, `{"access_token":"TOKEN","offline_messages":[{"email":"b@example.com","site_id":SITE,"ext_id":"` + strings.Repeat("e", models.MaxExtIDLen) + `","user_fields":[{"ext_id":"f","value":"` + strings.Repeat("v", models.MaxFieldValueLen+1) + `"}]}]}`},
		{1, `{"access_token":"TOKEN","chats":[{"start_date_time":"2024-03-05 14:30:00","status":"lost","site_id":SITE,"email":"b@example.com","messages":[{"date_time":"2024-03-05 14:30:01","source":"visitor","message":"` + strings.Repeat("m", models.MaxTextLen+1) + `"}]}]}`},
		{1, `{"access_token":"TOKEN","chats":[{"name":"a","name":"b"}]}`},
		{2, `{"login":"boss@example.com\r\n","password":"x"}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.params)
	}
	f.Fuzz(func(t *testing.T, method uint8, params string) {
		name := fuzzMethods[int(method)%len(fuzzMethods)]
		for _, fx := range fxs {
			p := strings.NewReplacer("TOKEN", fx.token, "PASSWORD", password, "SESSION", fmt.Sprint(fx.session.ID),
				"CAMPAIGN", fmt.Sprint(fx.campaign.ID), "SITE", fmt.Sprint(fx.site.ID), "AGENT", fmt.Sprint(fx.agent.ID)).Replace(params)
			if !json.Valid([]byte(p)) {
				// FuzzEndpoint covers bodies that are not JSON; here the
				// envelope stays valid so that the method's decoder runs.
				p = string(mustMarshal(t, p))
			}
			fuzzCall(t, fx, `{"jsonrpc":"2.0","id":1,"method":"`+name+`","params":`+p+`}`)
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
