package acquire_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"switchboard/handlers/apitest"
	"switchboard/store"
	"switchboard/store/storetest"
)

// mustVendorRequest returns the vendor's example request in the file
// testdata/vendor/example with the keys of set replaced (our ids, numbers
// and addresses in place of the page's); the page's other keys go as the
// page has them.
func mustVendorRequest(tb testing.TB, example string, set map[string]any) string {
	tb.Helper()
	doc, err := os.ReadFile("testdata/vendor/" + example)
	if err != nil {
		tb.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(doc, &body); err != nil {
		tb.Fatalf("%s: %v", example, err)
	}
	for k, v := range set {
		body[k] = v
	}
	b, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestVendorExamples sends the example requests of Acquire's page
// (acquire-send-message.txt), with our ids, and checks each response
// against the page's example response: every key path there, with the same
// JSON type.
func TestVendorExamples(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *store.Store) {
		f := mustFixture(t, st)
		tests := []struct {
			name   string
			path   string
			token  string
			header map[string]string
			body   string
			status int
			like   string
			// unlike are key paths of the page's example the response
			// does not have, each for a reason given in the row.
			unlike []string
		}{
			{"chat add-message", addPath, f.full, nil,
				mustVendorRequest(t, "chat-add-message.request.json", map[string]any{"caseId": f.open.ID}),
				http.StatusOK, "chat-add-message.response.json",
				// additionalProp1 is Swagger UI's stand-in for "any keys" of a
				// free-form object, not a key Acquire sends: meta is {}.
				[]string{"data.meta.additionalProp1"}},
			// The mail add-message example goes here (mail-add-message.*.json).
			{"send-sms", smsPath, f.full, nil,
				mustVendorRequest(t, "send-sms.request.json", map[string]any{
					"From": f.number.Address, "To": f.contact.Phone, "contactId": f.contact.ID,
					"id": f.open.ID, "threadId": f.open.ID, "timelineId": f.open.TimelineID}),
				http.StatusOK, "send-sms.response.json", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := f.do(t, request{Method: http.MethodPost, Path: tt.path, Token: tt.token, Header: tt.header, Body: strings.NewReader(tt.body)})
				if r.status != tt.status {
					t.Fatalf("status = %d, want %d: %s", r.status, tt.status, r.body)
				}
				assertLikeExcept(t, "testdata/vendor/"+tt.like, r.body, tt.unlike)
			})
		}
	})
}

// assertLikeExcept is apitest.AssertLike but for the paths of unlike, which
// the example has and the response must not: each is a deliberate
// difference, and one the response came to have would be news.
func assertLikeExcept(tb testing.TB, example, body string, unlike []string) {
	tb.Helper()
	doc, err := os.ReadFile(example)
	if err != nil {
		tb.Fatal(err)
	}
	want, err := apitest.ShapeOf(doc)
	if err != nil {
		tb.Fatalf("%s: %v", example, err)
	}
	got, err := apitest.ShapeOf([]byte(body))
	if err != nil {
		tb.Fatalf("response: %v\n%s", err, body)
	}
	for _, p := range unlike {
		if _, ok := want[p]; !ok {
			tb.Errorf("%s has no %s to leave out", example, p)
		}
		if _, ok := got[p]; ok {
			tb.Errorf("the response has %s, left out as a difference", p)
		}
		delete(want, p)
	}
	if m := want.Missing(got); len(m) > 0 {
		tb.Errorf("the response departs from %s:\n%s\nresponse: %s", example, strings.Join(m, "\n"), body)
	}
}
