package inbound

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"switchboard/models"
	"switchboard/store"
)

// MustReadTestdata returns the bytes of testdata/name.
func MustReadTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// MustParse parses raw and fails the test on an error.
func MustParse(tb testing.TB, raw []byte) store.InboundEmail {
	tb.Helper()
	in, err := ParseEmail(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("ParseEmail: %v", err)
	}
	return in
}

// lineEndings runs f on raw as written and with CRLF line endings, as SMTP
// delivers it.
func lineEndings(t *testing.T, raw []byte, f func(t *testing.T, in store.InboundEmail)) {
	t.Helper()
	crlf := bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
	for _, v := range []struct {
		name string
		raw  []byte
	}{{"lf", raw}, {"crlf", crlf}} {
		t.Run(v.name, func(t *testing.T) { f(t, MustParse(t, v.raw)) })
	}
}

func TestParseEmail_Bodies(t *testing.T) {
	tests := []struct {
		file                  string
		messageID             string
		from, fromName        string
		to, cc                []string
		subject               string
		text                  string
		htmlOriginal          string
		htmlBodyContains      string
		wantNoHTMLBody        bool
		wantAttachments       int
		wantReferences        []string
		wantAutoReply, bounce bool
	}{
		{
			file: "plain.eml", messageID: "<CAF1042.ann@mail.example.com>",
			from: "ann@example.com", fromName: "Ann Customer",
			to: []string{"support@acme.test", "bob@acme.test"}, cc: []string{"carol@example.com", "dave@example.com"},
			subject:        "Order 1042 has not arrived",
			text:           "Hello,\n\nmy order 1042 still has not arrived. Can you check? Merci — Ann\n\n> On Friday you wrote:\n> It ships today.\n",
			wantReferences: []string{"<case-7.msg-3@acme.test>", "<case-7.msg-2@acme.test>", "<case-7.msg-1@acme.test>"},
			wantNoHTMLBody: true,
		},
		{
			file: "alternative.eml", messageID: "<alt-1@acme.test>", from: "shop@acme.test", fromName: "Acme Shop",
			to: []string{"ann@example.com"}, subject: "Your order",
			text:             "Hello Ann,\n\nYour order ships today — and this line is long enough that it is wrapped with a soft line break.",
			htmlOriginal:     "<html><body><p>Hello&nbsp;Ann,</p><p>Your order <b>ships</b> today &amp; arrives Monday.</p></body></html>",
			htmlBodyContains: "<p>Your order <b>ships</b> today &amp; arrives Monday.</p>",
		},
		{
			file: "latin1.eml", messageID: "<latin1-1@example.fr>", from: "andre@example.fr", fromName: "André Dupré",
			to: []string{"support@acme.test"}, subject: "Facture de décembre prête",
			text: "Bonjour, la facture de décembre est prête. Ça coûte 12 EUR.\n", wantNoHTMLBody: true,
		},
		{
			file: "cp1251.eml", messageID: "<cp1251-1@example.ru>", from: "ivan@example.ru", fromName: "Иван Петров",
			to: []string{"support@acme.test"}, subject: "Где мой заказ?",
			text: "Здравствуйте! Заказ №1042 не пришёл.\n", wantNoHTMLBody: true,
		},
		{
			file: "html_only.eml", messageID: "<html-1@example.com>", from: "bob@example.com", fromName: "Bob",
			to: []string{"support@acme.test"}, subject: "HTML only",
			text:             "Refund request\n\nHi team,\nplease refund order\u00a0#1042 & close the case.\n\norder page\n\nitem one\n\nitem two\n\nThanks <3",
			htmlBodyContains: `<a href="https://example.com/o/1042" rel="nofollow">order page</a>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			lineEndings(t, MustReadTestdata(t, tt.file), func(t *testing.T, in store.InboundEmail) {
				if in.MessageID != tt.messageID || in.From != tt.from || in.FromName != tt.fromName || in.Subject != tt.subject {
					t.Errorf("MessageID, From, FromName, Subject = %q, %q, %q, %q; want %q, %q, %q, %q",
						in.MessageID, in.From, in.FromName, in.Subject, tt.messageID, tt.from, tt.fromName, tt.subject)
				}
				if !reflect.DeepEqual(in.To, tt.to) || !reflect.DeepEqual(in.Cc, tt.cc) {
					t.Errorf("To, Cc = %q, %q; want %q, %q", in.To, in.Cc, tt.to, tt.cc)
				}
				if got := strings.ReplaceAll(in.TextBody, "\r\n", "\n"); got != tt.text {
					t.Errorf("TextBody = %q; want %q", got, tt.text)
				}
				if tt.htmlOriginal != "" && strings.TrimSpace(in.HTMLOriginal) != tt.htmlOriginal {
					t.Errorf("HTMLOriginal = %q; want %q", in.HTMLOriginal, tt.htmlOriginal)
				}
				if !strings.Contains(in.HTMLBody, tt.htmlBodyContains) {
					t.Errorf("HTMLBody = %q; want it to contain %q", in.HTMLBody, tt.htmlBodyContains)
				}
				if tt.wantNoHTMLBody && (in.HTMLBody != "" || in.HTMLOriginal != "") {
					t.Errorf("HTMLBody, HTMLOriginal = %q, %q; want none", in.HTMLBody, in.HTMLOriginal)
				}
				if !reflect.DeepEqual(in.References, tt.wantReferences) {
					t.Errorf("References = %q; want %q", in.References, tt.wantReferences)
				}
				if len(in.Attachments) != 0 || in.AutoReply != "" || in.Bounce != nil {
					t.Errorf("Attachments, AutoReply, Bounce = %d, %q, %+v; want none", len(in.Attachments), in.AutoReply, in.Bounce)
				}
			})
		})
	}
}

func wantPNG() []byte {
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00")
	for i := range 256 {
		b = append(b, byte(i))
	}
	return b
}

func wantPDF() []byte {
	b := []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
	for i := 255; i >= 0; i-- {
		b = append(b, byte(i))
	}
	return append(b, "\n%%EOF\n"...)
}

func TestParseEmail_Attachments(t *testing.T) {
	tests := []struct {
		file string
		text string
		want []store.NewAttachment
	}{
		{
			file: "nested.eml", text: "See the photo below and the invoice attached.",
			want: []store.NewAttachment{
				{Name: "attachment-1.png", ContentType: "image/png", Content: wantPNG()},
				{Name: "invoice-1042.pdf", ContentType: "application/pdf", Content: wantPDF()},
			},
		},
		{
			file: "rfc2231.eml", text: "Two files.",
			want: []store.NewAttachment{
				{Name: "naïve résumé.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.4\n")},
				{Name: "résumé part 2.txt", ContentType: "text/plain; charset=iso-8859-1", Content: []byte("caf\xe9")},
				{Name: "отчёт.xlsx", ContentType: "application/octet-stream", Content: []byte{0, 1, 2}},
			},
		},
		{
			file: "forwarded.eml", text: "See the message below.",
			want: []store.NewAttachment{
				{Name: "notes.txt", ContentType: "text/plain; charset=utf-8", Content: []byte("my notes")},
				{Name: "attachment-2.ics", ContentType: "text/calendar; charset=utf-8", Content: []byte("BEGIN:VCALENDAR\nEND:VCALENDAR")},
				{Name: "attachment-3.eml", ContentType: "message/rfc822", Content: []byte("From: Bob <bob@example.com>\nSubject: the invite\nMessage-ID: <orig-1@example.com>\n\nCome on Monday.")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := MustReadTestdata(t, tt.file)
			// Only the LF form: the CRLF one would change the text file's bytes.
			in := MustParse(t, raw)
			if strings.TrimSpace(in.TextBody) != tt.text {
				t.Errorf("TextBody = %q; want %q", in.TextBody, tt.text)
			}
			if len(in.Attachments) != len(tt.want) {
				t.Fatalf("got %d attachments; want %d: %+v", len(in.Attachments), len(tt.want), in.Attachments)
			}
			for i, a := range in.Attachments {
				w := tt.want[i]
				if a.Name != w.Name || a.ContentType != w.ContentType || !bytes.Equal(a.Content, w.Content) {
					t.Errorf("attachment %d = %q %q %q; want %q %q %q", i, a.Name, a.ContentType, a.Content, w.Name, w.ContentType, w.Content)
				}
				if !store.ValidContentType(a.ContentType) {
					t.Errorf("attachment %d content type %q is not valid", i, a.ContentType)
				}
			}
		})
	}
}

func TestParseEmail_Charsets(t *testing.T) {
	tests := []struct {
		name, contentType, cte, body, want string
	}{
		{"invalid utf-8", "text/plain; charset=utf-8", "8bit", "caf\xff\xfe ok", "caf\uFFFD\uFFFD ok"},
		{"no charset, utf-8 bytes", "text/plain", "8bit", "naïve", "naïve"},
		{"unknown charset as utf-8", "text/plain; charset=x-klingon", "8bit", "qa\x80pla", "qa\uFFFDpla"},
		{"koi8-r quoted-printable", "text/plain; charset=\"KOI8-R\"", "quoted-printable", "=F0=D2=C9=D7=C5=D4", "Привет"},
		{"shift_jis", "text/plain; charset=Shift_JIS", "base64", "grGC8YLJgr+CzQ==", "こんにちは"},
		{"bad content type is text", "garbage", "7bit", "just text", "just text"},
		{"bad base64 keeps what decoded", "text/plain", "base64", "aGVsbG8g d29y\x00bGQ*!", "hello world"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: ann@example.com\r\nContent-Type: " + tt.contentType + "\r\nContent-Transfer-Encoding: " + tt.cte + "\r\n\r\n" + tt.body
			in := MustParse(t, []byte(raw))
			if in.TextBody != tt.want || len(in.Attachments) != 0 {
				t.Errorf("TextBody, attachments = %q, %d; want %q, 0", in.TextBody, len(in.Attachments), tt.want)
			}
		})
	}
}

func TestParseEmail_HTMLSanitized(t *testing.T) {
	in := MustParse(t, MustReadTestdata(t, "html_only.eml"))
	for _, bad := range []string{"<script", "onclick", "onload", "steal()", "alert("} {
		if strings.Contains(in.HTMLBody, bad) {
			t.Errorf("HTMLBody contains %q: %q", bad, in.HTMLBody)
		}
		if !strings.Contains(in.HTMLOriginal, bad) {
			t.Errorf("HTMLOriginal lost %q: %q", bad, in.HTMLOriginal)
		}
	}
	if strings.Contains(in.TextBody, "alert") || strings.Contains(in.TextBody, "ignored title") || strings.Contains(in.TextBody, "color") {
		t.Errorf("TextBody has hidden text: %q", in.TextBody)
	}
}

const bareMessage = "From: ann@example.com\r\nTo: support@acme.test\r\nSubject: hi\r\n%s\r\nbody %s\r\n"

func TestParseEmail_SynthesizedMessageID(t *testing.T) {
	a1 := MustParse(t, []byte(fmt.Sprintf(bareMessage, "", "one")))
	a2 := MustParse(t, []byte(fmt.Sprintf(bareMessage, "", "one")))
	b := MustParse(t, []byte(fmt.Sprintf(bareMessage, "", "two")))
	blank := MustParse(t, []byte(fmt.Sprintf(bareMessage, "Message-ID:  \r\n", "one")))
	tests := []struct {
		name string
		got  string
		same bool
		than string
	}{
		{"same bytes same id", a2.MessageID, true, a1.MessageID},
		{"different bytes different id", b.MessageID, false, a1.MessageID},
		{"blank header different bytes", blank.MessageID, false, a1.MessageID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.HasPrefix(tt.got, "<") || !strings.HasSuffix(tt.got, "@switchboard.invalid>") || len(tt.got) != 64+len("<@switchboard.invalid>") {
				t.Errorf("MessageID = %q; want <sha256hex@switchboard.invalid>", tt.got)
			}
			if (tt.got == tt.than) != tt.same {
				t.Errorf("%q vs %q: same = %v; want %v", tt.got, tt.than, tt.got == tt.than, tt.same)
			}
		})
	}
}

func TestParseEmail_References(t *testing.T) {
	tests := []struct {
		name, header, wantID string
		want                 []string
	}{
		{"none", "Message-ID: <m@x>\r\n", "<m@x>", nil},
		{"in-reply-to then references newest first",
			"Message-ID:   <m@x>  \r\nIn-Reply-To: <c@x>\r\nReferences: <a@x> <b@x>\r\n\t<c@x>\r\n", "<m@x>",
			[]string{"<c@x>", "<b@x>", "<a@x>"}},
		{"in-reply-to with a comment", "Message-ID: m@x\r\nIn-Reply-To: <r@x> (Ann's message of Friday)\r\n", "<m@x>",
			[]string{"<r@x>"}},
		{"duplicates once", "Message-ID: <m@x>\r\nIn-Reply-To: <b@x>\r\nReferences: <a@x>,<b@x>, <a@x>\r\n", "<m@x>",
			[]string{"<b@x>", "<a@x>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := MustParse(t, []byte(fmt.Sprintf(bareMessage, tt.header, "x")))
			if in.MessageID != tt.wantID || !reflect.DeepEqual(in.References, tt.want) {
				t.Errorf("MessageID, References = %q, %q; want %q, %q", in.MessageID, in.References, tt.wantID, tt.want)
			}
		})
	}
}

func TestParseEmail_AutoReply(t *testing.T) {
	tests := []struct {
		name, header, want string
	}{
		{"none", "", ""},
		{"auto-submitted auto-replied", "Auto-Submitted: auto-replied\r\n", "Auto-Submitted: auto-replied"},
		{"auto-submitted auto-generated with comment", "Auto-Submitted: auto-generated; owner-email=x@y\r\n", "Auto-Submitted: auto-generated; owner-email=x@y"},
		{"auto-submitted no", "Auto-Submitted: No\r\n", ""},
		{"precedence bulk", "Precedence: bulk\r\n", "Precedence: bulk"},
		{"precedence auto_reply", "Precedence: Auto_Reply\r\n", "Precedence: auto_reply"},
		{"precedence junk", "Precedence: junk\r\n", "Precedence: junk"},
		{"precedence list", "Precedence: list\r\n", "Precedence: list"},
		{"precedence first-class", "Precedence: first-class\r\n", ""},
		{"x-autoreply", "X-Autoreply: yes\r\n", "X-Autoreply: yes"},
		{"x-autorespond empty", "X-Autorespond:\r\n", "X-Autorespond"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := MustParse(t, []byte(fmt.Sprintf(bareMessage, tt.header, "x")))
			if in.AutoReply != tt.want || in.Bounce != nil {
				t.Errorf("AutoReply, Bounce = %q, %+v; want %q, nil", in.AutoReply, in.Bounce, tt.want)
			}
		})
	}
}

func TestParseEmail_Bounce(t *testing.T) {
	const fallback = "From: Mail Delivery Subsystem <postmaster@mx.example.net>\r\nTo: support@acme.test\r\n" +
		"Message-ID: <fb-1@mx.example.net>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\n\r\n  Delivery to bob@example.com failed permanently.\r\nMore text.\r\n" +
		"--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@acme.test\r\nMessage-ID: <case-3.msg-1@acme.test>\r\n\r\nhello\r\n--B--\r\n"
	const success = "From: MAILER-DAEMON@mx.example.net\r\nMessage-ID: <ok-1@mx.example.net>\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n" +
		"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; bob@example.com\r\nAction: delivered\r\nStatus: 2.0.0\r\n" +
		"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <case-3.msg-2@acme.test>\r\n--B--\r\n"
	tests := []struct {
		name          string
		raw           []byte
		want          *store.Bounce
		wantAutoReply string
	}{
		{"postfix", MustReadTestdata(t, "postfix_dsn.eml"), &store.Bounce{
			MessageIDs: []string{"<case-7.msg-4@acme.test>"},
			Reason:     "5.1.1 smtp; 550 5.1.1 <bob@example.com>: user unknown",
		}, "Auto-Submitted: auto-replied"},
		{"gmail", MustReadTestdata(t, "gmail_dsn.eml"), &store.Bounce{
			MessageIDs: []string{"<case-9.msg-2@acme.test>"},
			Reason:     "5.1.1 smtp; 550 5.1.1 The email account that you tried to reach does not exist.",
		}, "Auto-Submitted: auto-replied"},
		{"delayed is an auto-reply", MustReadTestdata(t, "delayed_dsn.eml"), nil,
			"delivery delayed: 4.4.1 X-Postfix; connect to mx.example.net[192.0.2.99]:25: Connection timed out"},
		{"mailer daemon without fields", []byte(fallback), &store.Bounce{
			MessageIDs: []string{"<case-3.msg-1@acme.test>"}, Reason: "Delivery to bob@example.com failed permanently.",
		}, ""},
		{"delivered is no bounce", []byte(success), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lineEndings(t, tt.raw, func(t *testing.T, in store.InboundEmail) {
				if !reflect.DeepEqual(in.Bounce, tt.want) {
					t.Errorf("Bounce = %+v; want %+v", in.Bounce, tt.want)
				}
				if in.AutoReply != tt.wantAutoReply {
					t.Errorf("AutoReply = %q; want %q", in.AutoReply, tt.wantAutoReply)
				}
				if len(in.Attachments) != 0 {
					t.Errorf("a report kept %d attachments", len(in.Attachments))
				}
			})
		})
	}
}

func TestParseEmail_Malformed(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
	}{
		{"no from", MustReadTestdata(t, "no_from.eml")},
		{"from not an address", []byte("From: nobody\r\nSubject: x\r\n\r\nbody\r\n")},
		{"empty", nil},
		{"not a header", []byte("\x00\x01 binary garbage without a colon\n\nbody")},
		{"header block without end too large", bytes.Repeat([]byte("X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"), (maxHeaderBytes/36)+10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEmail(bytes.NewReader(tt.raw))
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v; want ErrMalformed", err)
			}
		})
	}
}

// failingReader gives its bytes, then fails.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestParseEmail_ReaderError(t *testing.T) {
	errTooBig := errors.New("552 message too large")
	tests := []struct {
		name string
		raw  []byte
	}{
		{"in the header", []byte("From: ann@example.com\r\nSubj")},
		{"in the body", MustReadTestdata(t, "plain.eml")},
		{"in a part", MustReadTestdata(t, "nested.eml")[:900]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEmail(&failingReader{r: bytes.NewReader(tt.raw), err: errTooBig})
			if !errors.Is(err, errTooBig) {
				t.Errorf("err = %v; want the reader's error", err)
			}
		})
	}
}

func TestParseEmail_OversizeBody(t *testing.T) {
	long := strings.Repeat("ж", models.MaxEmailBodyLen) + "tail beyond the limit"
	html := "<p>" + strings.Repeat("a &amp; b ", models.MaxEmailBodyLen/10) + "</p><p>end</p>"
	tests := []struct {
		name, contentType, body, wantName string
		got                               func(store.InboundEmail) string
	}{
		{"text", "text/plain; charset=utf-8", long, "body.txt", func(in store.InboundEmail) string { return in.TextBody }},
		{"html original", "text/html; charset=utf-8", html, "body.html", func(in store.InboundEmail) string { return in.HTMLOriginal }},
		{"html sanitized", "text/html; charset=utf-8", html, "body.html", func(in store.InboundEmail) string { return in.HTMLBody }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: ann@example.com\r\nMessage-ID: <big@x>\r\nContent-Type: " + tt.contentType +
				"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(tt.body)) + "\r\n"
			in := MustParse(t, []byte(raw))
			got := tt.got(in)
			if n := utf8.RuneCountInString(got); n > models.MaxEmailBodyLen || n < models.MaxEmailBodyLen-10 {
				t.Errorf("body has %d characters; want the first %d", n, models.MaxEmailBodyLen)
			}
			if !strings.HasPrefix(tt.body, got) && tt.name != "html sanitized" {
				t.Errorf("body is not the start of the part")
			}
			if strings.HasSuffix(got, "&amp") || strings.HasSuffix(got, "&") {
				t.Errorf("body ends inside an entity: %q", got[len(got)-10:])
			}
			if len(in.Attachments) != 1 || in.Attachments[0].Name != tt.wantName || string(in.Attachments[0].Content) != tt.body {
				t.Fatalf("attachments = %d; want %s with the whole part", len(in.Attachments), tt.wantName)
			}
		})
	}
}

func TestParseEmail_Limits(t *testing.T) {
	var deep strings.Builder
	deep.WriteString("From: ann@example.com\r\n")
	for i := range 100 {
		fmt.Fprintf(&deep, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	deep.WriteString("Content-Type: text/plain\r\n\r\ntoo deep\r\n")
	var wide strings.Builder
	wide.WriteString("From: ann@example.com\r\nContent-Type: multipart/mixed; boundary=w\r\n\r\n")
	for i := range 1000 {
		fmt.Fprintf(&wide, "--w\r\nContent-Type: application/octet-stream\r\n\r\n%d\r\n", i)
	}
	wide.WriteString("--w--\r\n")
	tests := []struct {
		name            string
		raw             string
		wantText        string
		wantAttachments int
	}{
		{"nesting past the bound is skipped", deep.String(), "", 0},
		{"attachments stop at the store's bound", wide.String(), "", store.MaxInboundAttachments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := MustParse(t, []byte(tt.raw))
			if in.TextBody != tt.wantText || len(in.Attachments) != tt.wantAttachments {
				t.Errorf("TextBody, attachments = %q, %d; want %q, %d", in.TextBody, len(in.Attachments), tt.wantText, tt.wantAttachments)
			}
		})
	}
}
