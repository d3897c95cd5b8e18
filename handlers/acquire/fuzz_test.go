package acquire_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"switchboard/store"
	"switchboard/store/storetest"
)

// FuzzAddMessage posts fuzzed bodies, x-user-type values and contactIds to
// POST .../chat/add-message through the real router on SQLite. It fails on
// any 5xx, on a body that is not Acquire's JSON, and on a refused request
// that wrote a message. {open}, {closed}, {foreign}, {contact} and {anon} in
// a seed stand for the fixture's ids.
func FuzzAddMessage(f *testing.F) {
	st := storetest.MustOpen(f, store.SQLite)
	fx := mustFixture(f, st)
	ids := strings.NewReplacer(
		"{open}", fmt.Sprint(fx.open.ID), "{closed}", fmt.Sprint(fx.closed.ID), "{foreign}", fmt.Sprint(fx.foreign.ID),
		"{contact}", fmt.Sprint(fx.contact.ID), "{anon}", fmt.Sprint(fx.anon.ID),
	)
	seeds := []struct{ body, userType, contactID string }{
		{vendorBody(fx.open.ID), "", ""},
		{`{"channel":"chat","message":{"type":"message","message":"Hey added from the api","translateLangKey":"en"},"caseId":9}`, "", ""},
		{`{"channel":"chat","message":{"type":"message","message":"hi"},"caseId":{open}}`, "contact", "{contact}"},
		{`{"caseId":{open},"message":"plain","type":"note","translateLangKey":"pt-BR"}`, "user", ""},
		{`{"caseId":{closed},"message":{"type":"message","message":"hi"}}`, "", ""},
		{`{"caseId":{foreign},"message":{"type":"message","message":"hi"}}`, "", ""},
		{`{"caseId":{open},"message":{"type":"message","message":"hi"}}`, "bot", ""},
		{`{"caseId":{open},"message":{"type":"message","message":"hi"}}`, "", "{anon}"},
		{`{"caseId":{open},"contactId":-1,"message":{"type":"message","message":"hi"}}`, "", ""},
		{``, "", ""},
		{`{"caseId":`, "", ""},
		{`[]`, "", ""},
		{`null`, "", ""},
		{`{"caseId":"{open}","message":{"type":"message","message":"hi"}}`, "", ""},
		{`{"caseId":1.5,"message":{"type":"message","message":"hi"}}`, "", ""},
		{`{"caseId":-{open},"message":{"type":"message","message":"hi"}}`, "", ""},
		{`{"caseId":99999999999999999999,"message":{"type":"message","message":"hi"}}`, "", ""},
		{`{"caseId":{open},"message":42}`, "", ""},
		{`{"caseId":{open},"message":["hi"]}`, "", ""},
		{`{"caseId":{open}}`, "", ""},
		{`{"caseId":{open},"message":{"type":"chat","message":"hi"}}`, "", ""},
		{`{"caseId":{open},"message":{"type":"note","message":"hi"}}`, "contact", ""},
		{`{"caseId":{open},"message":{"type":"message","message":"a\u0000b"}}`, "", ""},
		{"{\"caseId\":{open},\"message\":\"\xff\xfe\"}", "", ""},
		{`{"caseId":{open},"message":{"type":"message","message":"hi","translateLangKey":"` + strings.Repeat("e", 40) + `"}}`, "", ""},
	}
	for _, s := range seeds {
		f.Add(s.body, s.userType, s.contactID)
	}
	f.Fuzz(func(t *testing.T, body, userType, contactID string) {
		body, contactID = ids.Replace(body), ids.Replace(contactID)
		q := url.Values{}
		if contactID != "" {
			q.Set("contactId", contactID)
		}
		req := httptest.NewRequest(http.MethodPost, addPath+"?"+q.Encode(), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fx.full)
		if userType != "" && !strings.ContainsAny(userType, "\r\n\x00") {
			req.Header.Set("x-user-type", userType)
		}
		m0, _ := fx.counts(t)
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for body %q, x-user-type %q, contactId %q: %s", rec.Code, body, userType, contactID, rec.Body)
		}
		var got struct {
			Data  json.RawMessage `json:"data"`
			Error *struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("status %d, body not JSON: %v: %s", rec.Code, err, rec.Body)
		}
		m1, _ := fx.counts(t)
		switch {
		case rec.Code == http.StatusOK && (got.Data == nil || m1 != m0+1):
			t.Fatalf("200 with data %s, messages %d -> %d", got.Data, m0, m1)
		case rec.Code != http.StatusOK && (got.Error == nil || !strings.HasPrefix(got.Error.Type, "ERROR_") || got.Error.Message == ""):
			t.Fatalf("status %d without an Acquire error: %s", rec.Code, rec.Body)
		case rec.Code != http.StatusOK && m1 != m0:
			t.Fatalf("status %d wrote: messages %d -> %d", rec.Code, m0, m1)
		}
	})
}
