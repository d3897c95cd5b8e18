package callgear_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// chars returns n two-byte characters: a limit in characters is not met by
// counting bytes.
func chars(n int) string { return strings.Repeat("é", n) }

// TestUpload_TextLimits uploads each free-text field at its limit, which is
// taken, and one past it, which is refused with -32602
// invalid_parameter_value naming the field, writing nothing.
func TestUpload_TextLimits(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		offline := func(kv ...any) obj { return obj{"offline_messages": []any{with(f.offlineItem(), kv...)}} }
		chat := func(message string) obj {
			item := f.chatItem()
			msgs := item["messages"].([]any)
			item["messages"] = []any{msgs[0], with(msgs[1].(obj), "message", message)}
			return obj{"chats": []any{item}}
		}
		email := func(n int) string { return strings.Repeat("b", n-len("@example.com")) + "@example.com" }
		tests := []struct {
			name, method, field string
			params              func(v string) obj
			atLimit, over       string
		}{
			{"visitor name", "upload.offline_messages", "offline_messages[0].name",
				func(v string) obj { return offline("name", v) }, chars(models.MaxNameLen), chars(models.MaxNameLen + 1)},
			{"offline message", "upload.offline_messages", "offline_messages[0].message",
				func(v string) obj { return offline("message", v) }, chars(models.MaxTextLen), chars(models.MaxTextLen + 1)},
			{"form name", "upload.offline_messages", "offline_messages[0].form_name",
				func(v string) obj { return offline("form_name", v) }, chars(models.MaxNameLen), chars(models.MaxNameLen + 1)},
			{"ext_id", "upload.offline_messages", "offline_messages[0].ext_id",
				func(v string) obj { return offline("ext_id", v) }, chars(models.MaxExtIDLen), chars(models.MaxExtIDLen + 1)},
			{"email", "upload.offline_messages", "offline_messages[0].email",
				func(v string) obj { return offline("email", v) }, email(models.MaxEmailBytes), email(models.MaxEmailBytes + 1)},
			{"user field value", "upload.offline_messages", "offline_messages[0].user_fields[0].value",
				func(v string) obj { return offline("user_fields", []any{obj{"ext_id": "f1", "value": v}}) },
				chars(models.MaxFieldValueLen), chars(models.MaxFieldValueLen + 1)},
			{"user field ext_id", "upload.offline_messages", "offline_messages[0].user_fields[0].ext_id",
				func(v string) obj { return offline("user_fields", []any{obj{"ext_id": v, "value": 1}}) },
				chars(models.MaxExtIDLen), chars(models.MaxExtIDLen + 1)},
			{"chat visitor name", "upload.chats", "chats[0].name",
				func(v string) obj { return obj{"chats": []any{with(f.chatItem(), "name", v)}} }, chars(models.MaxNameLen), chars(models.MaxNameLen + 1)},
			{"chat message", "upload.chats", "chats[0].messages[1].message", chat, chars(models.MaxTextLen), chars(models.MaxTextLen + 1)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				mustIDs(t, f.call(t, tt.method, with(tt.params(tt.atLimit), "access_token", f.token)))
				before := f.counts(t)
				res := assertError(t, f.call(t, tt.method, with(tt.params(tt.over), "access_token", f.token)),
					http.StatusOK, -32602, "invalid_parameter_value", tt.field)
				if !strings.Contains(res.Error.Message, "must be at most") {
					t.Errorf("message = %q", res.Error.Message)
				}
				f.assertUnchanged(t, before)
			})
		}
		t.Run("every problem listed", func(t *testing.T) {
			before := f.counts(t)
			res := assertError(t, f.call(t, "upload.offline_messages", with(obj{"offline_messages": []any{
				with(f.offlineItem(), "name", chars(models.MaxNameLen+1), "form_name", "a\nb"),
				with(f.offlineItem(), "message", chars(models.MaxTextLen+1)),
			}}, "access_token", f.token)), http.StatusOK, -32602, "invalid_parameter_value", "offline_messages[0].name")
			var fields []string
			for _, p := range res.Error.Data.Params {
				fields = append(fields, p.Field)
			}
			if got, want := strings.Join(fields, " "), "offline_messages[0].name offline_messages[0].form_name offline_messages[1].message"; got != want {
				t.Errorf("fields = %s, want %s", got, want)
			}
			f.assertUnchanged(t, before)
		})
	})
}

// TestUpload_ControlCharacters checks that names, form names, ext_ids,
// emails and logins refuse control characters while messages keep tabs and
// line breaks.
func TestUpload_ControlCharacters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		one := func(kv ...any) obj { return obj{"offline_messages": []any{with(f.offlineItem(), kv...)}} }
		runProblems(t, f, "upload.offline_messages", []problemCase{
			{"name with a tab", one("name", "Bob\tSmith"), "invalid_parameter_value", "offline_messages[0].name"},
			{"name with a C1 control", one("name", "Bob\u009b"), "invalid_parameter_value", "offline_messages[0].name"},
			{"form name with a newline", one("form_name", "Contact\nus"), "invalid_parameter_value", "offline_messages[0].form_name"},
			{"ext_id with an escape", one("ext_id", "x\x1b"), "invalid_parameter_value", "offline_messages[0].ext_id"},
			{"email with DEL", one("email", "bob\x7f@example.com"), "invalid_parameter_value", "offline_messages[0].email"},
		})
		t.Run("login with a control character", func(t *testing.T) {
			assertError(t, f.call(t, "login.user", obj{"login": "boss@example.com\r\n", "password": "x"}),
				http.StatusOK, -32602, "invalid_parameter_value", "login")
		})
		t.Run("message keeps tabs and line breaks", func(t *testing.T) {
			mustIDs(t, f.call(t, "upload.offline_messages", with(one("message", "line 1\r\n\tline 2"), "access_token", f.token)))
		})
	})
}

// TestRequest_LenientJSON checks that strings that are not UTF-8 and keys
// given twice are refused naming the parameter, -32602 inside params and
// -32600 for the request's own members, writing nothing.
func TestRequest_LenientJSON(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		item := mustJSON(t, f.offlineItem())
		upload := func(params string) string {
			return `{"jsonrpc":"2.0","id":7,"method":"upload.offline_messages","params":` + params + `}`
		}
		tests := []struct {
			name, body  string
			code        int
			mnemonic    string
			field       string
			echoesID    bool
			moreProblem string // a second problem's field, when there is one
		}{
			{"duplicate access_token", upload(fmt.Sprintf(`{"access_token":%q,"access_token":"x","offline_messages":[%s]}`, f.token, item)),
				-32602, "invalid_parameter_value", "access_token", true, ""},
			{"duplicate key in an item", upload(fmt.Sprintf(`{"access_token":%q,"offline_messages":[%s,%s]}`, f.token, item,
				strings.Replace(item, `"name":"Bob"`, `"name":"Bob","name":"Eve"`, 1))),
				-32602, "invalid_parameter_value", "offline_messages[1].name", true, ""},
			{"invalid UTF-8 in a message", upload(fmt.Sprintf(`{"access_token":%q,"offline_messages":[%s]}`, f.token,
				strings.Replace(item, `"Do you ship to Riga?"`, "\"Do you ship to R\xefga?\"", 1))),
				-32602, "invalid_parameter_value", "offline_messages[0].message", true, ""},
			{"lone surrogate in a chat message", `{"jsonrpc":"2.0","id":7,"method":"upload.chats","params":{"access_token":"` + f.token +
				`","chats":[{"name":"x","messages":[{"message":"\ud83d"}]}]}}`,
				-32602, "invalid_parameter_value", "chats[0].messages[0].message", true, ""},
			{"duplicate method", `{"jsonrpc":"2.0","id":7,"method":"upload.chats","method":"delete.chats","params":{}}`,
				-32600, "invalid_request", "method", true, ""},
			{"duplicate id", `{"jsonrpc":"2.0","id":7,"id":8,"method":"upload.chats","params":{}}`,
				-32600, "invalid_request", "id", false, ""},
			{"duplicate params", `{"jsonrpc":"2.0","id":7,"method":"upload.chats","params":{},"params":{}}`,
				-32600, "invalid_request", "params", true, ""},
			{"every problem listed", upload("{\"access_token\":\"\xff\",\"offline_messages\":[],\"offline_messages\":[]}"),
				-32602, "invalid_parameter_value", "access_token", true, "offline_messages"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.counts(t)
				res := assertError(t, f.post(t, tt.body), http.StatusOK, tt.code, tt.mnemonic, tt.field)
				if got := string(res.ID); (got == "7") != tt.echoesID {
					t.Errorf("id = %s, echoed %v", got, tt.echoesID)
				}
				if tt.moreProblem != "" && (len(res.Error.Data.Params) != 2 || res.Error.Data.Params[1].Field != tt.moreProblem) {
					t.Errorf("params = %+v, want a second problem on %s", res.Error.Data.Params, tt.moreProblem)
				}
				f.assertUnchanged(t, before)
			})
		}
	})
}
