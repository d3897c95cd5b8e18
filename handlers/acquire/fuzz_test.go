package acquire_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"switchboard/handlers/apitest"
	"switchboard/handlers/jsonbody"
	"switchboard/models"
	"switchboard/store"
	"switchboard/store/storetest"
)

// FuzzAddMessage posts fuzzed bodies, x-user-type values and contactIds to
// POST .../chat/add-message through the real router on SQLite. It fails on
// any 5xx, on a body that is not Acquire's JSON, on a refused request
// that wrote anything (fuzzPost), and on any departure from openapi.yaml. {open}, {closed}, {foreign}, {contact} and {anon} in
// a seed stand for the fixture's ids.
func FuzzAddMessage(f *testing.F) {
	st := storetest.MustOpen(f, store.SQLite)
	fx := mustFixture(f, st)
	ids := fuzzIDs(fx)
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
		{`{"CaseId":{open},"message":{"Type":"message","Message":"hi"}}`, "", ""},
		{`{"caseId":{open},"message":{"type":"chat","message":"hi"}}`, "", ""},
		{`{"caseId":{open},"message":{"type":"note","message":"hi"}}`, "contact", ""},
		{`{"caseId":{open},"message":{"type":"message","message":"a\u0000b"}}`, "", ""},
		{"{\"caseId\":{open},\"message\":\"\xff\xfe\"}", "", ""},
		{`{"caseId":{open},"message":{"type":"message","message":"hi","translateLangKey":"` + strings.Repeat("e", 40) + `"}}`, "", ""},
		// The limits and the body rules of issue 16.
		{`{"caseId":{open},"message":{"type":"message","message":"` + strings.Repeat("x", models.MaxTextLen) + `"}}`, "", ""},
		{`{"caseId":{open},"message":{"type":"message","message":"` + strings.Repeat("x", models.MaxTextLen+1) + `"}}`, "", ""},
		{`{"caseId":{open},"caseId":{closed},"message":{"type":"message","message":"hi"}}`, "", ""},
		{`{"caseId":{open},"message":{"type":"message","message":"hi","message":"bye"}}`, "", ""},
		{"{\"caseId\":{open},\"message\":{\"type\":\"message\",\"message\":\"caf\xe9\"}}", "", ""},
		{`{"caseId":{open},"message":{"type":"message","message":"\udc00"}}`, "", ""},
	}
	for _, s := range seeds {
		f.Add(s.body, s.userType, s.contactID)
	}
	f.Fuzz(func(t *testing.T, body, userType, contactID string) {
		fuzzPost(t, fx, addPath, ids.Replace(body), userType, ids.Replace(contactID))
	})
}

// fuzzIDs replaces {open}, {closed}, {foreign}, {contact} and {anon} in a
// seed with the fixture's ids.
func fuzzIDs(fx *fixture) *strings.Replacer {
	return strings.NewReplacer(
		"{open}", fmt.Sprint(fx.open.ID), "{closed}", fmt.Sprint(fx.closed.ID), "{foreign}", fmt.Sprint(fx.foreign.ID),
		"{contact}", fmt.Sprint(fx.contact.ID), "{anon}", fmt.Sprint(fx.anon.ID),
	)
}

// fuzzPost posts body to path with the full key, the x-user-type header and
// the contactId query parameter (each unless empty). It fails on any 5xx, on
// a body that is not Acquire's JSON, on a 200 that did not write one message
// (and at most one delivery), on a refused request that wrote anything, on
// any exchange that departs from openapi.yaml (apitest.Wrap), and on a 200
// to a body with a string that is not UTF-8 or a key given twice.
func fuzzPost(t *testing.T, fx *fixture, path, body, userType, contactID string) {
	t.Helper()
	q := url.Values{}
	if contactID != "" {
		q.Set("contactId", contactID)
	}
	req := httptest.NewRequest(http.MethodPost, path+"?"+q.Encode(), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+fx.full)
	req.Header.Set("Content-Type", "application/json")
	if userType != "" && !strings.ContainsAny(userType, "\r\n\x00") {
		req.Header.Set("x-user-type", userType)
	}
	w0 := fx.writes(t)
	rec := httptest.NewRecorder()
	apitest.Wrap(t, fx.h).ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("status %d for body %q, x-user-type %q, contactId %q: %s", rec.Code, body, userType, contactID, rec.Body)
	}
	// A body with a string that is not UTF-8 or a key given twice is
	// refused, whatever else it holds.
	var je *jsonbody.Error
	if errors.As(jsonbody.Check([]byte(body)), &je) && rec.Code == http.StatusOK {
		t.Fatalf("accepted a body with %v: %q", je, body)
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
	w1 := fx.writes(t)
	switch {
	case rec.Code == http.StatusOK && (got.Data == nil || w1[0] != w0[0]+1 || w1[1] != w0[1] || w1[2] < w0[2] || w1[2] > w0[2]+1):
		t.Fatalf("200 with data %s, messages, cases, deliveries %v -> %v", got.Data, w0, w1)
	case rec.Code != http.StatusOK && (got.Error == nil || !strings.HasPrefix(got.Error.Type, "ERROR_") || got.Error.Message == ""):
		t.Fatalf("status %d without an Acquire error: %s", rec.Code, rec.Body)
	case rec.Code != http.StatusOK && w1 != w0:
		t.Fatalf("status %d wrote: messages, cases, deliveries %v -> %v", rec.Code, w0, w1)
	}
}

// FuzzMailAddMessage posts fuzzed bodies, x-user-type values and contactIds
// to POST /api/v1/mail/add-message, as FuzzAddMessage does.
func FuzzMailAddMessage(f *testing.F) {
	st := storetest.MustOpen(f, store.SQLite)
	fx := mustFixture(f, st)
	ids := fuzzIDs(fx)
	seeds := []struct{ body, userType, contactID string }{
		{vendorMailBody(fx.open.ID, fx.contact.ID), "", ""},
		{`{"data":{"caseId":1128,"to":["user@gmail.com"],"from":"test@acquire.io","cc":[],"bcc":[],"subject":"test","contactId":9156860,"type":"message","textBody":"this is the text body","htmlBody":"This is the message body","attachments":[]}}`, "", ""},
		{`{"data":{"caseId":{open},"to":["support@example.com"],"from":"ann@example.com","textBody":"hi"}}`, "contact", "{contact}"},
		{`{"data":{"caseId":{open},"to":[{"Name":"Ann","Email":"ann@example.com"}],"cc":["x@example.org"],"bcc":[{"Email":"y@example.org"}],"from":"Support@Example.com","htmlBody":"<b>hi</b>"}}`, "user", ""},
		{`{"data":{"caseId":{closed},"to":["ann@example.com"],"from":"support@example.com","textBody":"hi"}}`, "", ""},
		{`{"data":{"caseId":{foreign},"to":["ann@example.com"],"from":"help@two.example.com","textBody":"hi"}}`, "", ""},
		{`{"data":{"caseId":{open},"to":["ann@example.com"],"from":"other@example.com","textBody":"hi"}}`, "", ""},
		{`{"data":{"caseId":{open},"to":["ann@example.com"],"from":"support@example.com","textBody":"hi","attachments":[{"name":"a.pdf"}]}}`, "", ""},
		{`{"data":{"caseId":{open},"to":[],"from":"support@example.com","textBody":"hi"}}`, "", "{anon}"},
		{`{"data":{"caseId":{open},"to":["a@b",42,null,{}],"from":"support@example.com","subject":"a\r\nb","textBody":"a\u0000b"}}`, "bot", ""},
		{`{"data":{"caseId":99999999999999999999,"to":"ann@example.com","from":["x"],"textBody":1}}`, "", ""},
		{`{"data":{"caseId":{open},"to":[{"email":"ann@example.com"}],"From":"support@example.com","textBody":"hi"}}`, "", ""},
		{`{"data":[]}`, "", ""},
		{`{"data":null}`, "", ""},
		{`{"caseId":{open}}`, "", ""},
		{`{"data":{`, "", ""},
		{``, "", ""},
		{`{"data":{"caseId":{open},"to":["ann@example.com"],"from":"support@example.com","subject":"` + strings.Repeat("s", models.MaxSubjectBytes+1) + `","textBody":"hi"}}`, "", ""},
		{`{"data":{"caseId":{open},"to":["ann@example.com"],"from":"support@example.com","subject":"a\tb","textBody":"hi\r\n\tthere"}}`, "", ""},
		{`{"data":{"caseId":{open},"to":["ann@example.com"],"to":["bob@example.com"],"from":"support@example.com","textBody":"hi"}}`, "", ""},
		{`{"data":{"caseId":1},"data":{"caseId":2}}`, "", ""},
		// Attachments (issue 18): base64, padded or not, bad, by URL (the
		// fetcher refuses loopback), both, neither.
		{`{"data":{"caseId":{open},"contactId":{contact},"to":["ann@example.com"],"from":"support@example.com","cc":[],"bcc":[],"subject":"","type":"message","textBody":"hi","htmlBody":"",` +
			`"attachments":[{"name":"a.pdf","contentType":"application/pdf","content":"JVBERi0xLjQK"},{"name":"b.txt","content":"aGk"}]}}`, "", ""},
		{`{"data":{"caseId":{open},"contactId":{contact},"to":["ann@example.com"],"from":"support@example.com","cc":[],"bcc":[],"subject":"","type":"message","textBody":"hi","htmlBody":"",` +
			`"attachments":[{"name":"a.pdf","content":"%%%"},{"name":"../b","url":"http://127.0.0.1:1/x"},{"name":"c","url":"gopher://x","content":"AA"},{},null,"x"]}}`, "", ""},
		{`{"data":{"caseId":{open},"contactId":{contact},"to":["ann@example.com"],"from":"support@example.com","cc":[],"bcc":[],"subject":"","type":"message","textBody":"hi","htmlBody":"",` +
			`"attachments":[{"name":"a\u0000b","contentType":"text/plain
Bcc: x@example.com","content":"AA=="}]}}`, "contact", "{contact}"},
	}
	for _, s := range seeds {
		f.Add(s.body, s.userType, s.contactID)
	}
	f.Fuzz(func(t *testing.T, body, userType, contactID string) {
		fuzzPost(t, fx, mailPath, ids.Replace(body), userType, ids.Replace(contactID))
	})
}

// FuzzSendSMS posts fuzzed bodies, x-user-type values and contactIds to
// POST /api/v1/voip/send-sms, as FuzzAddMessage does.
func FuzzSendSMS(f *testing.F) {
	st := storetest.MustOpen(f, store.SQLite)
	fx := mustFixture(f, st)
	ids := fuzzIDs(fx)
	seeds := []struct{ body, userType, contactID string }{
		{vendorSMSBody(fx.open, fx.contact.ID), "", ""},
		{`{"Body":"hi","From":"+12513188609","To":"+919666929552","contactId":751069,"id":2219,"isClosed":false,"isMultiChannel":false,"markValue":"<p>hi</p>","message":"hi","msgType":"message","sms":"hi","threadId":2219,"timelineId":2108,"title":"#751069 has just started a chat"}`, "", ""},
		{`{"threadId":{open},"From":"+14155550100","To":"+14155550199","sms":"hi"}`, "contact", "{contact}"},
		{`{"id":{open},"From":"+14155550199","To":"+14155550100","message":"hi"}`, "user", ""},
		{`{"threadId":{closed},"From":"+14155550199","To":"+14155550100","Body":"hi"}`, "", ""},
		{`{"threadId":{foreign},"From":"+14155550188","To":"+14155550100","Body":"hi"}`, "", ""},
		{`{"threadId":{open},"id":{closed},"timelineId":7,"From":"+14155550199","To":"+14155550100","Body":"hi"}`, "", "{anon}"},
		{`{"threadId":{open},"From":"14155550199","To":"+1 415","Body":" "}`, "bot", ""},
		{`{"threadId":"{open}","From":1,"To":null,"Body":{"a":1},"sms":[]}`, "", ""},
		{`{"threadId":99999999999999999999,"From":"+14155550199","To":"+14155550100","Body":"a\u0000b"}`, "", ""},
		{`{"threadId":{open},"from":"+14155550199","to":"+14155550100","body":"hi"}`, "", ""},
		{`[]`, "", ""},
		{`{"Body":`, "", ""},
		{``, "", ""},
		{`{"threadId":{open},"From":"+14155550199","To":"+14155550100","Body":"` + strings.Repeat("b", models.MaxSMSLen+1) + `"}`, "", ""},
		{`{"threadId":{open},"From":"+14155550199","To":"+14155550100","To":"+14155550101","Body":"hi"}`, "", ""},
		{"{\"threadId\":{open},\"From\":\"+14155550199\",\"To\":\"+14155550100\",\"Body\":\"\xff\"}", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.body, s.userType, s.contactID)
	}
	f.Fuzz(func(t *testing.T, body, userType, contactID string) {
		fuzzPost(t, fx, smsPath, ids.Replace(body), userType, ids.Replace(contactID))
	})
}
