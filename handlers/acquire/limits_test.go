package acquire_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

const invalidInput = "ERROR_INVALID_INPUT"

// chars returns n two-byte characters: a limit in characters is not met by
// counting bytes.
func chars(n int) string { return strings.Repeat("é", n) }

// emailOf returns a valid address of n bytes.
func emailOf(n int) string { return strings.Repeat("a", n-len("@example.com")) + "@example.com" }

// TestWrites_TextLimits sends each free-text field at its limit, which is
// taken, and one past it, which is refused naming the field, writing
// nothing (no message, case or delivery).
func TestWrites_TextLimits(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		chat := func(v string) string {
			return mustJSONString(t, map[string]any{"caseId": f.open.ID, "message": map[string]any{"type": "message", "message": v}})
		}
		mail := func(field string) func(string) string {
			return func(v string) string { return f.mailBody(map[string]any{field: v}) }
		}
		tests := []struct {
			name, path, token string
			body              func(v string) string
			atLimit, over     string
			want              string
		}{
			{"chat message", addPath, f.full, chat, chars(models.MaxTextLen), chars(models.MaxTextLen + 1),
				fmt.Sprintf("message.message: must be at most %d characters, not %d", models.MaxTextLen, models.MaxTextLen+1)},
			{"email subject", mailPath, f.full, mail("subject"), strings.Repeat("s", models.MaxSubjectBytes), strings.Repeat("s", models.MaxSubjectBytes+1),
				fmt.Sprintf("subject: must be at most %d bytes, not %d", models.MaxSubjectBytes, models.MaxSubjectBytes+1)},
			{"email subject in bytes", mailPath, f.full, mail("subject"), chars(models.MaxSubjectBytes / 2), chars(models.MaxSubjectBytes/2 + 1),
				fmt.Sprintf("subject: must be at most %d bytes, not %d", models.MaxSubjectBytes, models.MaxSubjectBytes+2)},
			{"email text body", mailPath, f.full, mail("textBody"), chars(models.MaxEmailBodyLen), chars(models.MaxEmailBodyLen + 1),
				fmt.Sprintf("textBody: must be at most %d characters, not %d", models.MaxEmailBodyLen, models.MaxEmailBodyLen+1)},
			{"email HTML body", mailPath, f.full, mail("htmlBody"), chars(models.MaxEmailBodyLen), chars(models.MaxEmailBodyLen + 1),
				fmt.Sprintf("htmlBody: must be at most %d characters, not %d", models.MaxEmailBodyLen, models.MaxEmailBodyLen+1)},
			{"email recipient", mailPath, f.full, func(v string) string { return f.mailBody(map[string]any{"to": []string{v}}) },
				emailOf(models.MaxEmailBytes), emailOf(models.MaxEmailBytes + 1),
				fmt.Sprintf("to[0]: must be at most %d bytes, not %d", models.MaxEmailBytes, models.MaxEmailBytes+1)},
			{"SMS body", smsPath, f.full, func(v string) string { return f.smsBody(map[string]any{"Body": v}) },
				chars(models.MaxSMSLen), chars(models.MaxSMSLen + 1),
				fmt.Sprintf("Body: must be at most %d characters, not %d", models.MaxSMSLen, models.MaxSMSLen+1)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.do(t, request{Method: http.MethodPost, Path: tt.path, Token: tt.token, Body: strings.NewReader(tt.body(tt.atLimit))})
				if r.status != http.StatusOK {
					t.Fatalf("at the limit: status = %d; body %s", r.status, r.body)
				}
				before := f.writes(t)
				r = f.do(t, request{Method: http.MethodPost, Path: tt.path, Token: tt.token, Body: strings.NewReader(tt.body(tt.over))})
				assertError(t, r, 400, invalidInput, tt.want)
				if after := f.writes(t); after != before {
					t.Errorf("wrote: %v -> %v", before, after)
				}
			})
		}
		t.Run("from over the limit", func(t *testing.T) {
			before := f.writes(t)
			r := f.do(t, request{Method: http.MethodPost, Path: mailPath, Token: f.full,
				Body: strings.NewReader(f.mailBody(map[string]any{"from": emailOf(models.MaxEmailBytes + 1)}))})
			assertError(t, r, 400, invalidInput, fmt.Sprintf("from: must be at most %d bytes, not %d", models.MaxEmailBytes, models.MaxEmailBytes+1))
			if after := f.writes(t); after != before {
				t.Errorf("wrote: %v -> %v", before, after)
			}
		})
		t.Run("where value", func(t *testing.T) {
			r := f.get(t, casesPath, f.full, url.Values{"where": {"title|like|" + chars(models.MaxSearchValueLen)}})
			if r.status != http.StatusOK {
				t.Fatalf("at the limit: status = %d; body %s", r.status, r.body)
			}
			item := "title|like|" + chars(models.MaxSearchValueLen+1)
			r = f.get(t, casesPath, f.full, url.Values{"where": {item}})
			assertError(t, r, 400, invalidInput, fmt.Sprintf(`where %q: a value may have at most %d characters, not %d`,
				models.Truncate(item, 64)+"…", models.MaxSearchValueLen, models.MaxSearchValueLen+1))
		})
	})
}

// mustJSONString encodes v.
func mustJSONString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWrites_ControlCharacters checks that subjects and addresses refuse
// control characters (tab and line breaks included) while bodies keep them.
func TestWrites_ControlCharacters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		tests := []struct {
			name      string
			overrides map[string]any
			want      string
		}{
			{"subject with a tab", map[string]any{"subject": "Re:\tbilling"}, "subject: must not contain control characters"},
			{"subject with an escape", map[string]any{"subject": "\x1b[2J"}, "subject: must not contain control characters"},
			{"subject with a C1 control", map[string]any{"subject": "Re:\u0085billing"}, "subject: must not contain control characters"},
			{"from with a control character", map[string]any{"from": "support\x01@example.com"}, "from: must not contain control characters"},
			{"recipient with DEL", map[string]any{"cc": []string{"ann\x7f@example.com"}}, "cc[0]: must not contain control characters"},
			{"every one listed", map[string]any{"subject": "a\vb", "bcc": []any{map[string]string{"Email": "b\tc@example.com"}}},
				"bcc[0]: must not contain control characters; subject: must not contain control characters"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.writes(t)
				r := f.do(t, request{Method: http.MethodPost, Path: mailPath, Token: f.full, Body: strings.NewReader(f.mailBody(tt.overrides))})
				assertError(t, r, 400, invalidInput, tt.want)
				if after := f.writes(t); after != before {
					t.Errorf("wrote: %v -> %v", before, after)
				}
			})
		}
		t.Run("bodies keep tabs and line breaks", func(t *testing.T) {
			r := f.do(t, request{Method: http.MethodPost, Path: mailPath, Token: f.full,
				Body: strings.NewReader(f.mailBody(map[string]any{"textBody": "Hi,\r\n\tthanks\n"}))})
			if r.status != http.StatusOK {
				t.Fatalf("status = %d; body %s", r.status, r.body)
			}
		})
	})
}

// TestWrites_LenientJSON checks that strings that are not UTF-8, keys given
// twice and a message that is a string where Acquire documents an object
// are refused naming the field, writing nothing.
func TestWrites_LenientJSON(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		open := f.open.ID
		tests := []struct {
			name, path, body, want string
		}{
			{"duplicate caseId", addPath, fmt.Sprintf(`{"caseId":%d,"caseId":%d,"message":{"type":"message","message":"hi"}}`, open, f.closed.ID),
				"caseId: is given more than once"},
			{"duplicate nested message", addPath, fmt.Sprintf(`{"caseId":%d,"message":{"type":"message","message":"hi","message":"bye"}}`, open),
				"message.message: is given more than once"},
			{"invalid UTF-8 in the message", addPath, fmt.Sprintf("{\"caseId\":%d,\"message\":{\"type\":\"message\",\"message\":\"caf\xe9\"}}", open),
				"message.message: must be valid UTF-8 text"},
			{"lone surrogate in the message", addPath, fmt.Sprintf(`{"caseId":%d,"message":{"type":"message","message":"\udfff"}}`, open),
				"message.message: must be valid UTF-8 text"},
			{"message as a string", addPath, fmt.Sprintf(`{"caseId":%d,"message":"x"}`, open),
				`message: must be a message object such as {"type":"message","message":"Hello"}, not a string`},
			{"duplicate data", mailPath, `{"data":{"caseId":1},"data":{"caseId":2}}`, "data: is given more than once"},
			{"duplicate subject", mailPath, strings.Replace(f.mailBody(nil), `"subject":"Re: billing"`, `"subject":"a","subject":"b"`, 1),
				"data.subject: is given more than once"},
			{"invalid UTF-8 in a recipient", mailPath, strings.Replace(f.mailBody(nil), `"to":["ann@example.com"]`, "\"to\":[\"ann\xff@example.com\"]", 1),
				"data.to[0]: must be valid UTF-8 text"},
			{"every problem listed", smsPath, "{\"Body\":\"\xff\",\"To\":\"+14155550100\",\"To\":\"+14155550101\",\"From\":\"\xfe\"}",
				"Body: must be valid UTF-8 text; To: is given more than once; From: must be valid UTF-8 text"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.writes(t)
				r := f.do(t, request{Method: http.MethodPost, Path: tt.path, Token: f.full, Body: strings.NewReader(tt.body)})
				assertError(t, r, 400, invalidInput, tt.want)
				if after := f.writes(t); after != before {
					t.Errorf("wrote: %v -> %v", before, after)
				}
			})
		}
	})
}

// TestLists_UnknownFilters checks that the case and message lists refuse a
// parameter that asks for a filter or sort they do not have, and one that
// net/url would drop, and take harmless ones.
func TestLists_UnknownFilters(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		const notParam = "is not a parameter of this list: filter with where=column|operator|value"
		thread := fmt.Sprintf("%s?contactId=%d&threadId=%d", messagesPath, f.contact.ID, f.open.ID)
		refused := []struct {
			name, path, want string
		}{
			{"semicolon in where", casesPath + "?where=id|eq|1;DROP", "where: is malformed: it holds a semicolon, which is not a separator"},
			{"malformed escape in where", casesPath + "?where=%zz", "where: is malformed: it has a malformed percent escape"},
			{"bare column", casesPath + "?status=active", "status: " + notParam},
			{"bare column in another case", casesPath + "?ContactId=3", "ContactId: " + notParam},
			{"sort", casesPath + "?sort=dateCreated&order=asc", "order: " + notParam + "; sort: " + notParam},
			{"filter array", casesPath + "?filter[status]=active", "filter[status]: " + notParam},
			{"dotted name", casesPath + "?contact.email=ann@example.com", "contact.email: " + notParam},
			{"unknown where column", casesPath + "?where=nope|eq|1", `where "nope|eq|1": "nope" is not a case column that can be filtered`},
			{"messages sorted", thread + "&sort=dateCreated", "sort: " + notParam},
			{"messages filtered by type", thread + "&type=note", "type: " + notParam},
			{"messages with where", thread + "&where=type|eq|note", "where: " + notParam},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				assertError(t, f.get(t, tt.path, f.full, nil), 400, invalidInput, tt.want)
			})
		}
		for _, path := range []string{
			casesPath + "?_=1700000000&relations=contact&select=id,title&x-user-type=user",
			thread + "&_=1&x-user-type=user",
		} {
			t.Run("takes "+path, func(t *testing.T) {
				if r := f.get(t, path, f.full, nil); r.status != http.StatusOK {
					t.Errorf("status = %d; body %s", r.status, r.body)
				}
			})
		}
	})
}
