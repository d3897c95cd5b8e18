package inbound_test

import (
	"net/url"
	"strings"
	"testing"

	"switchboard/inbound"
)

// FuzzParseSMS feeds form bodies to the SMS and receipt parsers: they never
// panic, and what they accept keeps their promises (a sid, at most
// inbound.MaxMedia files each with a URL, a final status only with its
// words).
func FuzzParseSMS(f *testing.F) {
	for _, seed := range []string{
		inboundForm().Encode(),
		inboundForm("NumMedia", "2", "MediaUrl0", "https://m/0", "MediaUrl1", "https://m/1").Encode(),
		receiptForm("undelivered", "ErrorCode", "30003").Encode(),
		"NumMedia=99999999999999999999&MessageSid=x&From=a&To=b",
		"NumMedia=-1&Body=STOP",
		"MessageStatus=%ff&MessageSid=%00",
		"a=1&a=2&=&&;",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return
		}
		inbound.IsReceipt(form)
		inbound.ValidTwilioSignature("tok", "https://desk.test/switchboard/v1/inbound/sms", form, form.Get("sig"))
		if sms, err := inbound.ParseSMS(form); err == nil {
			if sms.SID == "" || sms.From == "" || sms.To == "" || len(sms.Media) > inbound.MaxMedia {
				t.Fatalf("ParseSMS accepted %+v", sms)
			}
			for _, m := range sms.Media {
				if m.SourceURL == "" || !strings.HasPrefix(m.Name, "media-") {
					t.Fatalf("ParseSMS file %+v", m)
				}
			}
		}
		if sid, status, _, final, err := inbound.ParseReceipt(form); err == nil {
			if sid == "" || status == "" {
				t.Fatalf("ParseReceipt accepted %q %q", sid, status)
			}
			if final != (status == "delivered" || status == "undelivered" || status == "failed") {
				t.Fatalf("ParseReceipt: %q final %v", status, final)
			}
		}
	})
}
